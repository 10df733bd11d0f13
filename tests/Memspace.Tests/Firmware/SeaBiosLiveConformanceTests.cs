using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Memspace.Interop;
using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Machines.Firmware;
using Memspace.Printing;
using Memspace.Tests.Machines;
using Memspace.Tests.Support;

namespace Memspace.Tests.Firmware;

/// <summary>
/// Debian's SeaBIOS booted live on Memspace's pc and q35 under KVM, to "No bootable device", and the
/// state it leaves compared with QEMU 7.2's after the same firmware run (corpus cases
/// <c>x86-{pc,q35}-SIZE-firmware-kvm-run</c>): both trees, every flat view, <c>info ramblock</c>, the
/// final KVM slot set and every slot ioctl in QEMU's order. With QEMU's slot flags
/// (<see cref="MemorySystemOptions.HonourSectionReadOnly"/> off); the default's difference is pinned by
/// <see cref="FirmwareConformanceTests.ByDefaultPamRomGetsReadOnlySlotsUnlikeQemu"/>. Each state is booted
/// once and shared by the tests of its case. Needs /dev/kvm and the seabios package.
/// </summary>
public partial class SeaBiosLiveConformanceTests
{
    private static readonly ConcurrentDictionary<string, Lazy<Booted>> Boots = new();

    private sealed record Booted(string MtreeD, string Mtree, string Flat, string RamBlocks, List<(ulong, ulong, bool)> Slots, List<string> Ioctls, FirmwareBootResult Result);

    [GeneratedRegex(@"^x86-(pc|q35)-(\w+)-firmware-kvm-run$")]
    private static partial Regex CaseName();

    public static TheoryData<string> Cases()
        => new(QemuCorpus.CasesWith("mtree-D.txt").Where(c => CaseName().IsMatch(c)));

    [Fact]
    public void TheCorpusHasSixFinalStates() => Assert.Equal(6, Cases().Count);

    [Theory]
    [MemberData(nameof(Cases))]
    public void TreesMatchQemuAfterALiveBoot(string caseName)
    {
        Booted b = Boot(caseName);
        Assert.Equal(Join(QemuCorpus.Blocks(QemuCorpus.Read(caseName, "mtree-D.txt"))), Join(QemuCorpus.Blocks(b.MtreeD)));
        Assert.Equal(Join(QemuCorpus.Blocks(QemuCorpus.Read(caseName, "mtree.txt"))), Join(QemuCorpus.Blocks(b.Mtree)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FlatViewsAndRamBlocksMatchQemuAfterALiveBoot(string caseName)
    {
        Booted b = Boot(caseName);
        Assert.Equal(Join(QemuCorpus.Blocks(QemuCorpus.Read(caseName, "mtree-f.txt"), dropAcceleratorMarkers: true)),
                     Join(QemuCorpus.Blocks(b.Flat, dropAcceleratorMarkers: true)));
        Assert.Equal(QemuCorpus.Read(caseName, "ramblock.txt"), b.RamBlocks);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SlotsAndEverySlotIoctlMatchQemusTraceAfterALiveBoot(string caseName)
    {
        Booted b = Boot(caseName);
        string trace = QemuCorpus.Read(caseName, "kvm-trace.txt");
        Assert.Equal(FirmwareConformanceTests.FinalSlots(trace), b.Slots);
        // Same ioctls in the same order, host addresses aside (address space 0; the host has no SMM).
        List<string> qemu = [.. trace.Split('\n').Where(l => l.StartsWith("kvm_set_user_memory ", StringComparison.Ordinal)).Select(WithoutHostAddress)];
        Assert.Equal(qemu, b.Ioctls);
    }

    [GeneratedRegex(@" ua=0x[0-9a-f]+")]
    private static partial Regex HostAddress();

    private static string WithoutHostAddress(string line) => HostAddress().Replace(line.Trim(), "");

    private static string Join(List<string> blocks) => string.Join("\n\n", blocks);

    private static Booted Boot(string caseName)
    {
        KvmGuest.RequireKvm();
        byte[]? image = SeaBios.Load("seabios", out string? error);
        if (image is null)
        {
            Assert.Skip($"needs Debian's seabios package: {error}");
        }
        return Boots.GetOrAdd(caseName, c => new Lazy<Booted>(() => BootOnce(c, image))).Value;
    }

    private static Booted BootOnce(string caseName, byte[] image)
    {
        Match match = CaseName().Match(caseName);
        using var m = (X86Machine)Machine.Create(match.Groups[1].Value, new MachineOptions
        {
            RamSize = RamSize.Parse(match.Groups[2].Value),
            Accelerator = MachineAccelerator.Kvm,
            Firmware = image,
            MemoryOptions = new MemorySystemOptions { HonourSectionReadOnly = false },
            Smm = false, // as recorded: the host's KVM has no SMM
            DemoDevice = false,
            Serial = false,
            DebugConsole = true,
        });
        using Vcpu vcpu = m.CreateVcpu();
        FirmwareBootResult r = FirmwareBoot.Run(m, vcpu, TimeSpan.FromSeconds(90));
        Assert.True(r.ReachedEnd, $"{caseName}: {r.Outcome}: {r.Detail}; last lines: {string.Join(" | ", r.Lines.TakeLast(5))}");
        var ramblock = new StringWriter();
        RamBlockPrinter.Print(m.System.RamList, ramblock);
        KvmAccelerator kvm = m.Kvm!;
        return new Booted(
            MtreePrinter.ToText(m.System, disabled: true),
            MtreePrinter.ToText(m.System),
            FlatViewPrinter.ToText(m.System),
            ramblock.ToString(),
            [.. kvm.MemoryListener.Slots.Select(s => (s.StartAddr, s.MemorySize, (s.Flags & KvmAbi.MemReadonly) != 0)).Order()],
            [.. kvm.Trace.Where(e => e.Slot < 0x10000).Select(e => WithoutHostAddress(e.ToString()))],
            r);
    }
}
