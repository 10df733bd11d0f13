using Memspace.Import;
using Memspace.Printing;
using Memspace.Tests.Support;

namespace Memspace.Tests.Import;

/// <summary>
/// Differential tests against QEMU 7.2: every committed <c>info mtree -D</c> dump is imported, and
/// printing it gives QEMU's <c>-D</c> text back byte for byte and QEMU's <c>-f</c> flat views (as sets).
/// </summary>
public class QemuConformanceTests
{
    /// <summary>The facts the dumps do not show, for the machines in the corpus: QEMU 7.2's known devices.</summary>
    internal static MtreeImportOptions OptionsFor(string caseName) => QemuKnownRegions.Qemu72;

    public static TheoryData<string> Cases() => new(QemuCorpus.CasesWith("mtree-D.txt"));

    [Theory]
    [MemberData(nameof(Cases))]
    public void DisabledTreeRoundTrips(string caseName)
    {
        string dump = QemuCorpus.Read(caseName, "mtree-D.txt");
        MemorySystem system = MtreeImporter.Import(dump, OptionsFor(caseName));
        Assert.Equal(dump, MtreePrinter.ToText(system, disabled: true));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FlatViewsMatchQemu(string caseName)
    {
        MemorySystem system = MtreeImporter.Import(QemuCorpus.Read(caseName, "mtree-D.txt"), OptionsFor(caseName));
        List<string> expected = QemuCorpus.Blocks(QemuCorpus.Read(caseName, "mtree-f.txt"), dropAcceleratorMarkers: true);
        List<string> actual = QemuCorpus.Blocks(FlatViewPrinter.ToText(system));
        Assert.Equal(string.Join("\n\n", expected), string.Join("\n\n", actual));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PlainTreeMatchesQemu(string caseName)
    {
        // Plain 'info mtree' hides disabled regions but still prints their children; QEMU's group
        // order is hash order, so the groups are compared as a set.
        MemorySystem system = MtreeImporter.Import(QemuCorpus.Read(caseName, "mtree-D.txt"), OptionsFor(caseName));
        string expected = QemuCorpus.Read(caseName, "mtree.txt");
        Assert.Equal(
            string.Join("\n\n", QemuCorpus.Blocks(expected)),
            string.Join("\n\n", QemuCorpus.Blocks(MtreePrinter.ToText(system))));
    }
}
