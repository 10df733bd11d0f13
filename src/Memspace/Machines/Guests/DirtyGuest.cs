using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using static Memspace.Machines.Guests.DirtyGuestLayout;

namespace Memspace.Machines.Guests;

/// <summary>
/// The writing guest: a firmware image (for pc.bios) that keeps writing a known pattern over a region
/// of RAM at a rate the host sets, and keeps a running checksum, so that after a migration or a
/// restore one can check that no write was lost or doubled (<see cref="DirtyVerifier"/>).
/// </summary>
/// <remarks>
/// <para>
/// From the reset vector it goes real mode → 32-bit protected mode → long mode (identity map of the
/// region with 2 MiB pages, built by a loop of four instructions per 2 MiB) → ring 3 with IOPL 3 via
/// <c>SYSEXIT</c>; under PVM, where CPL0 code runs in KVM's instruction emulator, that prologue is about
/// 50 + 4 × (2 MiB pages) emulated instructions, and everything after it runs natively.
/// </para>
/// <para>
/// In ring 3 it loops: report progress (<see cref="DirtyGuestLayout.PortReport"/>), read the host's
/// command and the write credit (<see cref="DirtyPacer"/>), then write as many pages as the credit
/// allows. A write of page <c>i</c> on its <c>c</c>-th visit first checks the page still holds visit
/// <c>c-1</c> (count, index and pattern; a mismatch is reported through the command port), then fills it
/// with <see cref="DirtyGuestLayout.Pattern"/>(i, c), stores c and i in its first two qwords, folds the
/// pattern into the checksum and stores the counters in the control page. Pages are visited round
/// robin: after W writes page i has been visited W / P times, plus one if i &lt; W mod P.
/// </para>
/// </remarks>
public static class DirtyGuest
{
    /// <summary>Linear address of the 64 KiB code segment (the last 64 KiB below 4 GiB).</summary>
    public const uint SegmentBase = 0xffff_0000;

    private const int GdtOffset = 0x40;
    private const int GdtrOffset = 0x80;
    private const int Code32Offset = 0x100;
    private const int Code64Offset = 0x400;
    private const int Ring3Offset = 0x800;

    /// <summary>Largest region: it and the control structures below it must fit under 3 GiB.</summary>
    public const ulong MaxRegionBytes = (3UL << 30) - RegionBase;

    /// <summary>Emulated (CPL0) instructions the prologue executes for a region of <paramref name="regionBytes"/>, for measurements.</summary>
    /// <param name="regionBytes">Region size.</param>
    public static int PrologueInstructions(ulong regionBytes) => PrologueFixedInstructions + (4 * LargePages(regionBytes));

    /// <summary>
    /// Straight-line CPL0 instructions outside the page-directory loop, counted from the code below: the
    /// reset vector's jump, 10 in real mode, 27 in protected mode, 9 in long mode.
    /// </summary>
    private const int PrologueFixedInstructions = 1 + 10 + 27 + 9;

    private static int LargePages(ulong regionBytes) => (int)((RegionBase + regionBytes + (2UL << 20) - 1) / (2UL << 20));

    /// <summary>
    /// <paramref name="options"/> for machine <paramref name="machineName"/> running the writing guest over
    /// <paramref name="regionBytes"/>: its image as the firmware (the machine's firmware size), and at least
    /// the RAM the region needs. Build the destination of a migration or restore with the same call, so
    /// that its ROM holds the same code.
    /// </summary>
    /// <param name="options">The rest of the options (accelerator, SMM, ...).</param>
    /// <param name="machineName">"pc", "q35" or "microvm".</param>
    /// <param name="regionBytes">Region size.</param>
    public static MachineOptions Configure(MachineOptions options, string machineName, ulong regionBytes)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with
        {
            Firmware = Build(regionBytes, machineName == "microvm" ? 64 * 1024 : 256 * 1024),
            RamSize = Math.Max(options.RamSize, DirtyGuestLayout.RequiredRam(regionBytes)),
        };
    }

    /// <summary>Builds a firmware image of <paramref name="firmwareSize"/> bytes whose guest writes a region of <paramref name="regionBytes"/>.</summary>
    /// <param name="regionBytes">Region size: a non-zero multiple of 4 KiB, at most <see cref="MaxRegionBytes"/>.</param>
    /// <param name="firmwareSize">Image size: 256 KiB for pc and q35, 64 KiB for microvm.</param>
    public static byte[] Build(ulong regionBytes, int firmwareSize = 256 * 1024)
    {
        if (regionBytes == 0 || regionBytes % PageSize != 0 || regionBytes > MaxRegionBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(regionBytes), $"the region must be a non-zero multiple of 4 KiB up to {MaxRegionBytes >> 20} MiB");
        }
        if (firmwareSize < 0x10000 || firmwareSize % 0x10000 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(firmwareSize), "firmware size must be a multiple of 64 KiB");
        }
        var segment = new byte[0x10000];
        segment.AsSpan().Fill(0xf4);
        Put(segment, 0, Assemble(RealModeEntry(), 16, 0), GdtOffset);
        ulong[] gdt =
        [
            0,
            0x00cf_9b00_0000_ffff, // 0x08 flat 32-bit code, DPL 0 (also IA32_SYSENTER_CS)
            0x00cf_9300_0000_ffff, // 0x10 flat data, DPL 0
            0x00af_9b00_0000_ffff, // 0x18 64-bit code, DPL 0
            0x00cf_9300_0000_ffff, // 0x20 flat data, DPL 0
            0x00af_fb00_0000_ffff, // 0x28 64-bit code, DPL 3 (SYSEXIT: SYSENTER_CS + 32)
            0x00cf_f300_0000_ffff, // 0x30 flat data, DPL 3 (SYSEXIT: SYSENTER_CS + 40)
        ];
        for (int i = 0; i < gdt.Length; i++)
        {
            Put(segment, GdtOffset + (8 * i), BitConverter.GetBytes(gdt[i]), GdtrOffset);
        }
        // GDTR: limit, then a base the real-mode LGDT (24 bits) reaches: the segment seen at 0xf0000 through isa-bios.
        uint gdtBase = 0xf_0000 + GdtOffset;
        Put(segment, GdtrOffset, [(byte)((gdt.Length * 8) - 1), 0, (byte)gdtBase, (byte)(gdtBase >> 8), (byte)(gdtBase >> 16), 0], Code32Offset);
        Put(segment, Code32Offset, Assemble(ProtectedMode(regionBytes), 32, SegmentBase + Code32Offset), Code64Offset);
        Put(segment, Code64Offset, Assemble(LongModeRing0(), 64, SegmentBase + Code64Offset), Ring3Offset);
        Put(segment, Ring3Offset, Assemble(Ring3(regionBytes / PageSize), 64, SegmentBase + Ring3Offset), 0xfff0);
        // Reset vector (CS base 0xffff0000, IP 0xfff0): jmp near 0x0000.
        Put(segment, 0xfff0, [0xe9, 0x0d, 0x00], 0x10000);
        var image = new byte[firmwareSize];
        image.AsSpan().Fill(0xff);
        segment.CopyTo(image, firmwareSize - 0x10000);
        return image;
    }

    private static void Put(byte[] segment, int offset, byte[] bytes, int limit)
    {
        if (offset + bytes.Length > limit)
        {
            throw new InvalidOperationException($"dirty guest: code at segment offset 0x{offset:x} ({bytes.Length} bytes) overruns 0x{limit:x}");
        }
        bytes.CopyTo(segment, offset);
    }

    private static Assembler RealModeEntry()
    {
        var a = new Assembler(16);
        // Tell the pacer the guest runs, so that the host can time the prologue itself.
        a.mov(dx, PortId);
        a.@out(dx, eax);
        a.cli();
        a.mov(ax, 0xf000);
        a.mov(ds, ax);
        a.lgdt(__[GdtrOffset]);
        a.mov(eax, cr0);
        a.or(eax, 1);
        a.mov(cr0, eax);
        // 10 instructions with the far jump: jmp dword 0x08:SegmentBase+Code32Offset.
        uint target = SegmentBase + Code32Offset;
        a.db(0x66, 0xea, (byte)target, (byte)(target >> 8), (byte)(target >> 16), (byte)(target >> 24), 0x08, 0x00);
        return a;
    }

    private static Assembler ProtectedMode(ulong regionBytes)
    {
        const uint pml4 = (uint)PageTables, pdpt = pml4 + 0x1000, pd0 = pml4 + 0x2000;
        const uint table = 0x27; // present, writable, user, accessed
        var a = new Assembler(32);
        Label fill = a.CreateLabel();
        a.mov(ax, 0x10);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax);
        a.mov(esp, (uint)StackTop);
        a.mov(__dword_ptr[pml4], pdpt | table);
        for (uint k = 0; k < 4; k++)
        {
            a.mov(__dword_ptr[pdpt + (8 * k)], (pd0 + (k * 0x1000)) | table);
        }
        // 2 MiB pages, present, writable, user, accessed and dirty (nothing for the walker to write).
        a.mov(edi, pd0);
        a.mov(eax, 0xe7);
        a.mov(ecx, (uint)LargePages(regionBytes));
        a.Label(ref fill);
        a.mov(__dword_ptr[edi], eax);
        a.add(eax, 0x20_0000);
        a.add(edi, 8);
        a.loop(fill);
        // The last 2 MiB below 4 GiB, where this code runs from.
        a.mov(__dword_ptr[pd0 + (3 * 0x1000) + (511 * 8)], 0xffe0_00e7u);
        a.mov(eax, pml4);
        a.mov(cr3, eax);
        a.mov(eax, cr4);
        a.or(eax, 0x20);                     // PAE
        a.mov(cr4, eax);
        a.mov(ecx, 0xc000_0080);             // EFER
        a.rdmsr();
        a.or(eax, 0x100);                    // LME
        a.wrmsr();
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)0x8000_0000)); // PG
        a.mov(cr0, eax);
        uint target = SegmentBase + Code64Offset;
        a.db(0xea, (byte)target, (byte)(target >> 8), (byte)(target >> 16), (byte)(target >> 24), 0x18, 0x00);
        return a;
    }

    private static Assembler LongModeRing0()
    {
        var a = new Assembler(64);
        a.mov(ecx, 0x174);                   // IA32_SYSENTER_CS
        a.mov(eax, 0x08);
        a.xor(edx, edx);
        a.wrmsr();
        a.push(0x3002);                      // IOPL 3, interrupts off
        a.popfq();
        a.mov(edx, SegmentBase + Ring3Offset);
        a.mov(ecx, (uint)(ControlPage + PageSize));
        a.sysexitq();
        return a;
    }

    private static Assembler Ring3(ulong pages)
    {
        var a = new Assembler(64);
        Label outer = a.CreateLabel(), inner = a.CreateLabel(), fresh = a.CreateLabel(), next = a.CreateLabel();
        Label bad = a.CreateLabel(), badWait = a.CreateLabel(), stop = a.CreateLabel(), stopWait = a.CreateLabel();
        // r8 region, r9 pages, r10 next page, r11 writes, r12 credit left, r13 checksum, r14 next visit count, r15 control page.
        a.mov(r8, RegionBase);
        a.mov(r9, pages);
        a.xor(r10d, r10d);
        a.xor(r11d, r11d);
        a.xor(r13d, r13d);
        a.mov(r14d, 1);
        a.mov(r15, ControlPage);
        a.mov(rbx, PatternPageFactor);
        a.mov(rbp, PatternCountFactor);
        a.mov(__qword_ptr[r15 + ControlBadPage], -1);
        Store(a);
        a.mov(rax, ControlMagicValue);
        a.mov(__qword_ptr[r15 + ControlMagic], rax);

        a.Label(ref outer);
        a.mov(eax, r11d);
        a.mov(dx, PortReport);
        a.@out(dx, eax);
        a.mov(dx, PortCommand);
        a.@in(eax, dx);
        a.test(eax, eax);
        a.jnz(stop);
        a.mov(dx, PortCredit);
        a.@in(eax, dx);
        a.sub(eax, r11d);
        a.test(eax, eax);
        a.jle(outer);
        a.mov(r12d, eax);

        a.Label(ref inner);
        a.mov(rdi, r10);
        a.shl(rdi, 12);
        a.add(rdi, r8);
        // The page must still hold visit c-1: count, index and pattern.
        a.lea(rsi, __[r14 - 1]);
        a.cmp(__qword_ptr[rdi], rsi);
        a.jne(bad);
        a.test(rsi, rsi);
        a.jz(fresh);
        a.cmp(__qword_ptr[rdi + 8], r10);
        a.jne(bad);
        a.mov(rax, r10);
        a.imul(rax, rbx);
        a.imul(rsi, rbp);
        a.xor(rax, rsi);
        a.cmp(__qword_ptr[rdi + (int)PageSize - 8], rax);
        a.jne(bad);
        a.Label(ref fresh);
        a.mov(rax, r10);
        a.imul(rax, rbx);
        a.mov(rsi, r14);
        a.imul(rsi, rbp);
        a.xor(rax, rsi);
        a.mov(rsi, rax);
        a.mov(ecx, (uint)(PageSize / 8));
        a.rep.stosq();
        a.mov(__qword_ptr[rdi - (int)PageSize], r14);
        a.mov(__qword_ptr[rdi - (int)PageSize + 8], r10);
        a.rol(r13, 7);
        a.add(r13, rsi);
        a.inc(r11);
        a.inc(r10);
        a.cmp(r10, r9);
        a.jb(next);
        a.xor(r10d, r10d);
        a.inc(r14);
        a.Label(ref next);
        Store(a);
        a.dec(r12d);
        a.jnz(inner);
        a.jmp(outer);

        // A page did not hold what the guest last wrote there: record it, report it, and wait to be stopped.
        a.Label(ref bad);
        a.mov(__qword_ptr[r15 + ControlBadPage], r10);
        a.mov(eax, r10d);
        a.or(eax, unchecked((int)StatusBadPage));
        a.mov(dx, PortCommand);
        a.@out(dx, eax);
        a.Label(ref badWait);
        a.@in(eax, dx);
        a.jmp(badWait);

        // Stop: acknowledge, then wait for the command to go back to run.
        a.Label(ref stop);
        a.mov(eax, 1);
        a.@out(dx, eax);
        a.Label(ref stopWait);
        a.@in(eax, dx);
        a.test(eax, eax);
        a.jnz(stopWait);
        a.@out(dx, eax);
        a.jmp(outer);
        return a;
    }

    /// <summary>Stores writes, checksum, next page and next count in the control page.</summary>
    private static void Store(Assembler a)
    {
        a.mov(__qword_ptr[r15 + ControlWrites], r11);
        a.mov(__qword_ptr[r15 + ControlChecksum], r13);
        a.mov(__qword_ptr[r15 + ControlNextPage], r10);
        a.mov(__qword_ptr[r15 + ControlNextCount], r14);
    }

    private static byte[] Assemble(Assembler a, int bitness, ulong ip)
    {
        _ = bitness;
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), ip);
        return stream.ToArray();
    }
}
