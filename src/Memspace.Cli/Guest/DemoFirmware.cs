using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Memspace.Cli.Guest;

/// <summary>
/// The built-in guest of <c>memspace run</c>: a firmware image for pc.bios, assembled here with Iced.
/// It starts at the x86 reset vector in real mode, enters flat 32-bit protected mode and then uses
/// every kind of memory the machine has, printing each result on the serial port:
/// RAM (writes and verifies 64 KiB at 1 MiB), ROM (a write to pc.bios must be ignored), MMIO (the demo
/// device's ID and scratch registers), port I/O (the PCI host bridge's ID through 0xcf8/0xcfc), and a
/// topology change of its own: like SeaBIOS it shadows the BIOS, setting the PAM register of
/// 0xf0000-0xfffff to RAM, copying itself there, and setting it read-only, then checks that a write
/// to the shadow is ignored. It rings the demo device's doorbell and halts.
/// </summary>
public static class DemoFirmware
{
    /// <summary>Linear address of the 64 KiB code segment (the last 64 KiB below 4 GiB).</summary>
    public const uint SegmentBase = 0xffff_0000;

    /// <summary>Offset of the 32-bit code in the segment.</summary>
    private const uint Code32Offset = 0x100;

    /// <summary>Offset of a dword the guest tries to overwrite in ROM.</summary>
    public const uint MarkerOffset = 0xff00;

    /// <summary>Value of that dword.</summary>
    public const uint MarkerValue = 0x4d454d53;

    /// <summary>Where the strings go in the segment.</summary>
    private const int StringsOffset = 0xe000;

    /// <summary>The last line the guest prints.</summary>
    public const string DoneLine = "memspace-demo: done";

    /// <summary>Builds an image of <paramref name="size"/> bytes (a multiple of 64 KiB) that ends with the guest.</summary>
    /// <param name="size">Firmware size: 256 KiB for pc and q35, 64 KiB for microvm.</param>
    public static byte[] Build(int size = 256 * 1024)
    {
        if (size < 0x10000 || size % 0x10000 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), "firmware size must be a multiple of 64 KiB");
        }
        var segment = new byte[0x10000];
        segment.AsSpan().Fill(0xf4);
        Put(segment, 0, RealModeEntry());
        // GDT at 0x40: null, flat 32-bit code (0x08), flat data (0x10); its descriptor at 0x58. The
        // segment is visible at 0xf0000 through isa-bios, so a 24-bit GDT base reaches it.
        Put(segment, 0x40, BitConverter.GetBytes(0UL));
        Put(segment, 0x48, BitConverter.GetBytes(0x00cf9b000000ffffUL));
        Put(segment, 0x50, BitConverter.GetBytes(0x00cf93000000ffffUL));
        Put(segment, 0x58, [0x17, 0x00, 0x40, 0x00, 0x0f, 0x00]);
        var strings = new StringArea();
        byte[] main = ProtectedModeMain(strings);
        if (Code32Offset + main.Length > StringsOffset)
        {
            throw new InvalidOperationException("demo firmware code overlaps its strings");
        }
        Put(segment, (int)Code32Offset, main);
        foreach ((int offset, byte[] bytes) in strings.Entries)
        {
            Put(segment, offset, bytes);
        }
        Put(segment, (int)MarkerOffset, BitConverter.GetBytes(MarkerValue));
        // Reset vector (CS base 0xffff0000, IP 0xfff0): jmp near 0x0000.
        Put(segment, 0xfff0, [0xe9, 0x0d, 0x00]);
        var image = new byte[size];
        image.AsSpan().Fill(0xff);
        segment.CopyTo(image, size - 0x10000);
        return image;
    }

    private static void Put(byte[] segment, int offset, byte[] bytes)
    {
        if (offset + bytes.Length > segment.Length)
        {
            throw new InvalidOperationException("demo firmware does not fit its segment");
        }
        bytes.CopyTo(segment, offset);
    }

    private static byte[] RealModeEntry()
    {
        var a = new Assembler(16);
        a.cli();
        a.cld();
        a.mov(ax, 0xf000);
        a.mov(ds, ax);
        a.lgdt(__[0x58]);
        a.mov(eax, cr0);
        a.or(eax, 1);
        a.mov(cr0, eax);
        // jmp dword 0x08:SegmentBase+Code32Offset (ptr16:32 with an operand-size prefix).
        uint target = SegmentBase + Code32Offset;
        a.db(0x66, 0xea, (byte)target, (byte)(target >> 8), (byte)(target >> 16), (byte)(target >> 24), 0x08, 0x00);
        byte[] code = Assemble(a, 0);
        if (code.Length > 0x40)
        {
            throw new InvalidOperationException("real-mode entry overlaps the GDT");
        }
        return code;
    }

    private static byte[] ProtectedModeMain(StringArea strings)
    {
        const uint demo = 0xfe00_0000, ramTest = 0x10_0000, golden = 0x9e37_79b9;
        const uint marker = SegmentBase + MarkerOffset, shadowMarker = 0xf0000 + MarkerOffset;
        var a = new Assembler(32);
        Label print = a.CreateLabel(), printHex = a.CreateLabel(), crlf = a.CreateLabel(), setPam = a.CreateLabel();
        uint hello = strings.Add("memspace-demo: protected mode, running from pc.bios\r\n");
        uint ramOk = strings.Add("memspace-demo: RAM ok, 64 KiB at 0x100000 written and read back\r\n");
        uint ramBad = strings.Add("memspace-demo: RAM BAD, read back differs\r\n");
        uint romMsg = strings.Add("memspace-demo: ROM write ignored, pc.bios still holds 0x");
        uint romWritable = strings.Add("memspace-demo: pc.bios is RAM on this machine, the write went through: 0x");
        uint idMsg = strings.Add("memspace-demo: MMIO demo device id 0x");
        uint scratchMsg = strings.Add("memspace-demo: MMIO scratch reads back 0x");
        uint pciMsg = strings.Add("memspace-demo: PCI 00:00.0 id 0x");
        uint pamMsg = strings.Add("memspace-demo: PAM shadowed the BIOS at 0xf0000 read-only, write ignored, holds 0x");
        uint pamWritable = strings.Add("memspace-demo: PAM shadow at 0xf0000 took the write (not read-only): 0x");
        uint noPamMsg = strings.Add("memspace-demo: no PAM on this machine\r\n");
        uint doneMsg = strings.Add(DoneLine + "\r\n");
        uint crlfMsg = strings.Add("\r\n");
        Label fill = a.CreateLabel(), verify = a.CreateLabel(), badRam = a.CreateLabel(), romTest = a.CreateLabel();
        Label notI440 = a.CreateLabel(), doPam = a.CreateLabel(), noPam = a.CreateLabel(), finish = a.CreateLabel(), halt = a.CreateLabel();

        a.mov(ax, 0x10);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax);
        a.mov(esp, 0x9000);
        a.mov(esi, hello);
        a.call(print);

        // RAM: fill 64 KiB at 1 MiB with a sequence, then check it.
        a.mov(edi, ramTest);
        a.mov(ecx, 0x4000);
        a.mov(eax, 0x12345678);
        a.Label(ref fill);
        a.stosd();
        a.add(eax, golden);
        a.loop(fill);
        a.mov(esi, ramTest);
        a.mov(ecx, 0x4000);
        a.mov(ebx, 0x12345678);
        a.Label(ref verify);
        a.lodsd();
        a.cmp(eax, ebx);
        a.jne(badRam);
        a.add(ebx, golden);
        a.loop(verify);
        a.mov(esi, ramOk);
        a.call(print);
        a.jmp(romTest);
        a.Label(ref badRam);
        a.mov(esi, ramBad);
        a.call(print);

        // ROM: a write to pc.bios is ignored.
        a.Label(ref romTest);
        Label romReport = a.CreateLabel();
        a.mov(__dword_ptr[marker], 0);
        a.mov(eax, __dword_ptr[marker]);
        a.mov(esi, romMsg);
        a.cmp(eax, MarkerValue);
        a.je(romReport);
        a.mov(esi, romWritable);
        a.Label(ref romReport);
        Report(a, null, print, printHex, crlf);

        // MMIO: the demo device.
        a.mov(eax, __dword_ptr[demo]);
        Report(a, idMsg, print, printHex, crlf);
        a.mov(__dword_ptr[demo + 4], 0xcafef00d);
        a.mov(eax, __dword_ptr[demo + 4]);
        Report(a, scratchMsg, print, printHex, crlf);

        // Port I/O: the host bridge's vendor and device id through 0xcf8/0xcfc.
        a.mov(dx, 0xcf8);
        a.mov(eax, 0x8000_0000);
        a.@out(dx, eax);
        a.mov(dx, 0xcfc);
        a.@in(eax, dx);
        a.mov(edi, eax);
        Report(a, pciMsg, print, printHex, crlf);

        // Topology change: shadow the BIOS through the PAM register of 0xf0000 (i440FX 0x59, MCH 0x90).
        a.cmp(edi, 0x12378086);
        a.jne(notI440);
        a.mov(ebx, 0x59);
        a.jmp(doPam);
        a.Label(ref notI440);
        a.cmp(edi, 0x29c08086);
        a.jne(noPam);
        a.mov(ebx, 0x90);
        a.Label(ref doPam);
        a.mov(cl, 0x30);                  // RAM, read and write
        a.call(setPam);
        a.mov(esi, SegmentBase);
        a.mov(edi, 0xf0000);
        a.mov(ecx, 0x4000);
        a.rep.movsd();
        a.mov(cl, 0x10);                  // read-only
        a.call(setPam);
        Label pamReport = a.CreateLabel();
        a.mov(__dword_ptr[shadowMarker], 0x0badf00d);
        a.mov(eax, __dword_ptr[shadowMarker]);
        a.mov(esi, pamMsg);
        a.cmp(eax, MarkerValue);
        a.je(pamReport);
        a.mov(esi, pamWritable);
        a.Label(ref pamReport);
        Report(a, null, print, printHex, crlf);
        a.jmp(finish);
        a.Label(ref noPam);
        a.mov(esi, noPamMsg);
        a.call(print);

        a.Label(ref finish);
        a.mov(__dword_ptr[demo + 0xc], 1);
        a.mov(esi, doneMsg);
        a.call(print);
        a.Label(ref halt);
        a.cli();
        a.hlt();
        a.jmp(halt);

        // setPam: ebx = PAM register, cl = new high nibble (already shifted); keeps the low nibble.
        a.Label(ref setPam);
        a.mov(eax, ebx);
        a.and(eax, 0xfc);
        a.or(eax, 0x8000_0000);
        a.mov(dx, 0xcf8);
        a.@out(dx, eax);
        a.mov(edx, ebx);
        a.and(edx, 3);
        a.add(edx, 0xcfc);
        a.@in(al, dx);
        a.and(al, 0x0f);
        a.or(al, cl);
        a.@out(dx, al);
        a.ret();

        // print: esi = NUL-terminated string.
        Label p1 = a.CreateLabel(), p2 = a.CreateLabel();
        a.Label(ref print);
        a.push(eax);
        a.push(edx);
        a.mov(dx, (ushort)0x3f8);
        a.Label(ref p1);
        a.lodsb();
        a.test(al, al);
        a.jz(p2);
        a.@out(dx, al);
        a.jmp(p1);
        a.Label(ref p2);
        a.pop(edx);
        a.pop(eax);
        a.ret();

        // printHex: eax as eight hex digits.
        Label h1 = a.CreateLabel(), h2 = a.CreateLabel();
        a.Label(ref printHex);
        a.push(eax);
        a.push(ecx);
        a.push(edx);
        a.mov(ecx, 8);
        a.mov(dx, (ushort)0x3f8);
        a.Label(ref h1);
        a.rol(eax, 4);
        a.push(eax);
        a.and(al, 0x0f);
        a.add(al, (byte)'0');
        a.cmp(al, (byte)'9');
        a.jbe(h2);
        a.add(al, 'a' - '9' - 1);
        a.Label(ref h2);
        a.@out(dx, al);
        a.pop(eax);
        a.loop(h1);
        a.pop(edx);
        a.pop(ecx);
        a.pop(eax);
        a.ret();

        a.Label(ref crlf);
        a.push(esi);
        a.mov(esi, crlfMsg);
        a.call(print);
        a.pop(esi);
        a.ret();

        return Assemble(a, SegmentBase + Code32Offset);
    }

    /// <summary>Prints the string at <paramref name="text"/> (or the one already in esi), eax in hex, and a line end.</summary>
    private static void Report(Assembler a, uint? text, Label print, Label printHex, Label crlf)
    {
        if (text is { } address)
        {
            a.mov(esi, address);
        }
        a.call(print);
        a.call(printHex);
        a.call(crlf);
    }

    private static byte[] Assemble(Assembler a, ulong ip)
    {
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), ip);
        return stream.ToArray();
    }

    /// <summary>NUL-terminated strings placed from <see cref="StringsOffset"/> up, addressed linearly.</summary>
    private sealed class StringArea
    {
        private int _end = StringsOffset;

        public List<(int Offset, byte[] Bytes)> Entries { get; } = [];

        public uint Add(string text)
        {
            byte[] bytes = [.. System.Text.Encoding.ASCII.GetBytes(text), 0];
            if (_end + bytes.Length > MarkerOffset)
            {
                throw new InvalidOperationException("demo firmware strings overflow their area");
            }
            Entries.Add((_end, bytes));
            uint address = SegmentBase + (uint)_end;
            _end += bytes.Length;
            return address;
        }
    }
}
