using Memspace.Import;
using Memspace.Printing;
using Memspace.Tests.Support;

namespace Memspace.Tests.Import;

/// <summary>
/// With QEMU's flat views beside the dump, no option is needed: for every corpus case the hints derived
/// from <c>mtree-f.txt</c> make the import print QEMU's <c>-D</c> byte for byte and its <c>-f</c> (as sets).
/// </summary>
public class ImportHintsConformanceTests
{
    public static TheoryData<string> Cases() => new(QemuCorpus.CasesWith("mtree-D.txt").Where(c => File.Exists(Path.Combine(QemuCorpus.Root, c, "mtree-f.txt"))));

    [Theory]
    [MemberData(nameof(Cases))]
    public void DerivedHintsReproduceQemu(string caseName)
    {
        string dump = QemuCorpus.Read(caseName, "mtree-D.txt");
        string flat = QemuCorpus.Read(caseName, "mtree-f.txt");
        MtreeImportHintsResult hints = MtreeImportHints.Derive(dump, flat);
        Assert.True(hints.Differences.Count == 0, string.Join("\n", hints.Differences));
        using MemorySystem system = MtreeImporter.Import(dump, hints.Options);
        Assert.Equal(dump, MtreePrinter.ToText(system, disabled: true));
        Assert.Equal(
            string.Join("\n\n", QemuCorpus.Blocks(flat, dropAcceleratorMarkers: true)),
            string.Join("\n\n", QemuCorpus.Blocks(FlatViewPrinter.ToText(system))));
    }

    [Fact]
    public void HintsAreLearnedFromTheFlatViewsNotGuessed()
    {
        // A q35 after SeaBIOS needs 'io' and 'rtc' terminating and the PAM ROM aliases read-only.
        string dump = QemuCorpus.Read("x86-q35-512M-nodefaults-run", "mtree-D.txt");
        MtreeImportHintsResult hints = MtreeImportHints.Derive(dump, QemuCorpus.Read("x86-q35-512M-nodefaults-run", "mtree-f.txt"));
        Assert.Contains("io", hints.Options.Terminating);
        Assert.Contains("pam-rom", hints.Options.ReadOnly);
        Assert.DoesNotContain("pam-ram", hints.Options.ReadOnly);
        Assert.DoesNotContain("system", hints.Options.Terminating);
    }
}
