using System.Text.RegularExpressions;
using Memspace.Interop;
using Memspace.Machines;
using Memspace.Printing;
using Memspace.Tests.Support;
using static Memspace.Tests.Support.QemuReference;

namespace Memspace.Tests.Machines;

/// <summary>
/// Memspace's pc and q35 with QEMU's platform devices against QEMU 7.2 under KVM (the corpus cases
/// <c>x86-{pc,q35}-SIZE-firmware-kvm-{S,run}</c>, recorded with <c>-nodefaults -vga none -global
/// kvm-apic.vapic=off</c> and an ISA debug console, on a host without SMM). At reset ("-S") the machine
/// is compared as built; the final state ("-run", after SeaBIOS reached "No bootable device") is reached
/// offline by replaying SeaBIOS's configuration writes through the ports (<see cref="SeaBiosReplay"/>).
/// Compared: every address space's tree with disabled regions and without, every flat view,
/// <c>info ramblock</c>, and the KVM slot set.
/// </summary>
public partial class FirmwareConformanceTests
{
    [GeneratedRegex(@"^x86-(pc|q35)-(\w+)-firmware-kvm-(S|run)$")]
    private static partial Regex CaseName();

    public static TheoryData<string> Cases()
        => new(QemuCorpus.CasesWith("mtree-D.txt").Where(c => CaseName().IsMatch(c)));

    [Fact]
    public void TheCorpusHasAllTwelveKvmFirmwareStates() => Assert.Equal(12, Cases().Count);

    [Theory]
    [MemberData(nameof(Cases))]
    public void TreeWithDisabledRegionsMatchesQemu(string caseName)
    {
        using X86Machine m = Build(caseName, qemuSlotFlags: true);
        Assert.Equal(Join(QemuCorpus.Blocks(QemuCorpus.Read(caseName, "mtree-D.txt"))),
                     Join(QemuCorpus.Blocks(MtreePrinter.ToText(m.System, disabled: true))));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TreeMatchesQemu(string caseName)
    {
        using X86Machine m = Build(caseName, qemuSlotFlags: true);
        Assert.Equal(Join(QemuCorpus.Blocks(QemuCorpus.Read(caseName, "mtree.txt"))),
                     Join(QemuCorpus.Blocks(MtreePrinter.ToText(m.System))));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FlatViewsMatchQemu(string caseName)
    {
        using X86Machine m = Build(caseName, qemuSlotFlags: true);
        Assert.Equal(Join(QemuCorpus.Blocks(QemuCorpus.Read(caseName, "mtree-f.txt"), dropAcceleratorMarkers: true)),
                     Join(QemuCorpus.Blocks(FlatViewPrinter.ToText(m.System), dropAcceleratorMarkers: true)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RamBlocksMatchQemu(string caseName)
    {
        using X86Machine m = Build(caseName, qemuSlotFlags: true);
        var writer = new StringWriter();
        RamBlockPrinter.Print(m.System.RamList, writer);
        Assert.Equal(QemuCorpus.Read(caseName, "ramblock.txt"), writer.ToString());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void KvmSlotsMatchQemusTrace(string caseName)
    {
        // The slot set QEMU's kvm_set_user_memory trace leaves at the moment of the dump.
        using X86Machine m = Build(caseName, qemuSlotFlags: true);
        Assert.Equal(FinalSlots(QemuCorpus.Read(caseName, "kvm-trace.txt")), Slots(m));
    }

    [Fact]
    public void ByDefaultPamRomGetsReadOnlySlotsUnlikeQemu()
    {
        using X86Machine qemu = Build("x86-q35-512M-firmware-kvm-run", qemuSlotFlags: true);
        using X86Machine ours = Build("x86-q35-512M-firmware-kvm-run", qemuSlotFlags: false);
        var a = Slots(qemu);
        var b = Slots(ours);
        Assert.Equal(a.Select(s => (s.Gpa, s.Size)), b.Select(s => (s.Gpa, s.Size)));
        var differ = b.Where((s, i) => s.ReadOnly != a[i].ReadOnly).ToList();
        // What SeaBIOS locked read-only with PAM: 0xc0000-0xe7fff and the BIOS segment 0xf0000.
        Assert.Equal([(0xc0000UL, 0x28000UL, true), (0xf0000UL, 0x10000UL, true)], differ);
    }

    internal static X86Machine Build(string caseName, bool qemuSlotFlags)
    {
        Match match = CaseName().Match(caseName);
        var m = (X86Machine)Machine.Create(match.Groups[1].Value, new MachineOptions
        {
            RamSize = RamSize.Parse(match.Groups[2].Value),
            MemoryOptions = new MemorySystemOptions { HonourSectionReadOnly = !qemuSlotFlags },
            Smm = false, // the recording host's KVM has no SMM (KVM_CAP_X86_SMM = 0)
            DemoDevice = false,
            Serial = false,
            DebugConsole = true,
        });
        if (match.Groups[3].Value == "run")
        {
            SeaBiosReplay.Apply(m);
        }
        return m;
    }

    private static string Join(List<string> blocks) => string.Join("\n\n", blocks);

    private static List<(ulong Gpa, ulong Size, bool ReadOnly)> Slots(Machine m)
        => [.. m.Kvm!.MemoryListener.Slots.Select(s => (s.StartAddr, s.MemorySize, (s.Flags & KvmAbi.MemReadonly) != 0)).Order()];

    [GeneratedRegex(@"^kvm_set_user_memory Slot#(\d+) flags=0x([0-9a-f]+) gpa=0x([0-9a-f]+) size=0x([0-9a-f]+) ")]
    private static partial Regex TraceLine();

    /// <summary>Replays a <c>kvm_set_user_memory</c> trace (address space 0 only) to the slots it leaves.</summary>
    internal static List<(ulong Gpa, ulong Size, bool ReadOnly)> FinalSlots(string trace)
    {
        var slots = new Dictionary<int, (ulong, ulong, bool)>();
        foreach (string line in trace.Split('\n'))
        {
            Match t = TraceLine().Match(line);
            if (!t.Success)
            {
                continue;
            }
            int slot = int.Parse(t.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            if (slot >= 0x10000)
            {
                continue; // address space 1 (SMM)
            }
            ulong size = Convert.ToUInt64(t.Groups[4].Value, 16);
            if (size == 0)
            {
                slots.Remove(slot);
            }
            else
            {
                slots[slot] = (Convert.ToUInt64(t.Groups[3].Value, 16), size, (Convert.ToUInt32(t.Groups[2].Value, 16) & 2) != 0);
            }
        }
        return [.. slots.Values.Order()];
    }
}
