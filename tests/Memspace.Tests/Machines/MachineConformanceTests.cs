using System.Text.RegularExpressions;
using Memspace.Interop;
using Memspace.Machines;
using Memspace.Printing;
using Memspace.Regions;
using Memspace.Tests.Support;
using static Memspace.Tests.Support.QemuReference;

namespace Memspace.Tests.Machines;

/// <summary>
/// Memspace's pc, q35 and microvm against QEMU 7.2 itself (the corpus cases
/// <c>x86-{pc,q35,microvm}-SIZE-nodefaults-{S,run}</c>): the memory address space's tree with disabled
/// regions, the RAM/ROM part of its flat view, <c>info ramblock</c>, and the KVM slot set of both KVM
/// address spaces. For the "run" states (after SeaBIOS), the register values the firmware left are
/// read back from QEMU's dump and written through the machine's own configuration ports.
/// </summary>
public partial class MachineConformanceTests
{
    /// <summary>Devices QEMU's microvm has that Memspace does not model there (none of them RAM-backed).</summary>
    private static readonly HashSet<string> UnmodelledMicrovm =
    [
        "ioapic", "hpet", "apic-msi", "acpi-ged", "acpi-ged-regs", "virtio-mmio",
    ];

    /// <summary>
    /// On pc and q35 every device is modelled; these regions are mapped by SeaBIOS's writes to the ICH9
    /// functions, which <see cref="FirmwareState"/> does not replay (<see cref="FirmwareConformanceTests"/> does).
    /// </summary>
    private static readonly HashSet<string> NotReplayed = ["ahci", "lpc-rcrb-mmio"];

    [GeneratedRegex(@"^x86-(pc|q35|microvm)-(\w+)-nodefaults-(S|run)$")]
    private static partial Regex CaseName();

    public static TheoryData<string> Cases()
        => new(QemuCorpus.CasesWith("mtree-D.txt").Where(c => CaseName().IsMatch(c)));

    [Theory]
    [MemberData(nameof(Cases))]
    public void MemoryTreeMatchesQemu(string caseName)
    {
        using X86Machine m = Build(caseName, qemuSlotFlags: true);
        string ours = Print(m, disabled: true);
        HashSet<string> skip = m.Name == "microvm" ? UnmodelledMicrovm : NotReplayed;
        Assert.Equal(ModelledLines(Section(QemuCorpus.Read(caseName, "mtree-D.txt"), "address-space: memory"), skip),
                     ModelledLines(Section(ours, "address-space: memory"), skip));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RamAndRomRangesOfTheFlatViewMatchQemu(string caseName)
    {
        using X86Machine m = Build(caseName, qemuSlotFlags: true);
        var writer = new StringWriter();
        FlatViewPrinter.Print(m.System, writer, false);
        Assert.Equal(RamBacked(FlatView(QemuCorpus.Read(caseName, "mtree-f.txt"), "memory")),
                     RamBacked(FlatView(writer.ToString(), "memory")));
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
    public void KvmSlotsMatchWhatQemuWouldSet(string caseName)
    {
        using X86Machine m = Build(caseName, qemuSlotFlags: true);
        string tree = QemuCorpus.Read(caseName, "mtree-D.txt");
        string flat = QemuCorpus.Read(caseName, "mtree-f.txt");
        Assert.Equal(ExpectedSlots(flat, "memory", tree), Slots(m.Kvm!.MemoryListener));

        // KVM address space 1 (SMM): QEMU under TCG renders the same view as "cpu-smm-0". (On KVM,
        // register_smram_listener also enables pc's "smram" region, which i440FX leaves disabled until
        // the firmware writes its SMRAM register; with no VGA, the RAM smram-low shows at 0xa0000 is the
        // RAM that shows through there anyway, so the slots are the same.)
        var expected = ExpectedSlots(flat, "cpu-smm-0", tree);
        Assert.Equal(expected, Slots(m.Kvm.SmramListener!));
    }

    [Fact]
    public void ByDefaultPamRomGetsReadOnlySlotsUnlikeQemu()
    {
        const string caseName = "x86-q35-512M-nodefaults-run";
        using X86Machine qemu = Build(caseName, qemuSlotFlags: true);
        using X86Machine ours = Build(caseName, qemuSlotFlags: false);
        var a = Slots(qemu.Kvm!.MemoryListener);
        var b = Slots(ours.Kvm!.MemoryListener);
        Assert.Equal(a.Select(s => (s.Gpa, s.Size)), b.Select(s => (s.Gpa, s.Size)));
        var differ = a.Zip(b).Where(p => p.First.ReadOnly != p.Second.ReadOnly).Select(p => p.Second).ToList();
        // pam-rom over [0xc0000, 0xe8000) less the vapic ROM SeaBIOS mapped at 0xc0000, and over the BIOS area.
        Assert.Equal([(0xc3000UL, 0x25000UL, true), (0xf0000UL, 0x10000UL, true)], differ);
    }

    /// <summary>Builds the case's machine, and for "run" cases puts in the firmware's register values.</summary>
    internal static X86Machine Build(string caseName, bool qemuSlotFlags)
    {
        Match match = CaseName().Match(caseName);
        var m = (X86Machine)Machine.Create(match.Groups[1].Value, new MachineOptions
        {
            RamSize = RamSize.Parse(match.Groups[2].Value),
            MemoryOptions = new MemorySystemOptions { HonourSectionReadOnly = !qemuSlotFlags },
            KernelIrqchip = false, // recorded under TCG: QEMU's userspace device names
            DemoDevice = false,
        });
        if (match.Groups[3].Value == "run")
        {
            FirmwareState.Apply(m, QemuCorpus.Read(caseName, "mtree-D.txt"));
        }
        return m;
    }

    private static string Print(Machine m, bool disabled)
    {
        var writer = new StringWriter();
        MtreePrinter.Print(m.System, writer, false, disabled);
        return writer.ToString();
    }

    private static List<string> ModelledLines(IEnumerable<string> lines, HashSet<string> skip)
        => [.. lines.Where(l => Parse(l) is not { } p || !skip.Contains(p.Name))];

    /// <summary>
    /// The slots QEMU 7.2's <c>kvm_set_phys_mem</c> sets for a view: one per RAM-backed flat range,
    /// read-only when the range's own region is (ROM), not when only the path to it is (pam-rom).
    /// </summary>
    private static List<(ulong Gpa, ulong Size, bool ReadOnly)> ExpectedSlots(string flat, string space, string tree)
    {
        var ownKind = new Dictionary<string, string>();
        foreach (string l in tree.Split('\n'))
        {
            if (Parse(l) is { } p && !p.Text.StartsWith("alias ", StringComparison.Ordinal))
            {
                ownKind.TryAdd(p.Name, p.Kind);
            }
        }
        return [.. RamBacked(FlatView(flat, space)).Select(l => (l.Start, l.Size, ownKind[l.RegionName] is "rom" or "romd")).Order()];
    }

    private static List<(ulong Gpa, ulong Size, bool ReadOnly)> Slots(Memspace.Kvm.KvmMemoryListener listener)
        => [.. listener.Slots.Select(s => (s.StartAddr, s.MemorySize, (s.Flags & KvmAbi.MemReadonly) != 0)).Order()];
}
