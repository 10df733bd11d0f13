using System.Diagnostics;
using System.Text;
using Memspace.Import;
using Memspace.Printing;
using Memspace.Ram;
using Memspace.Tests.Support;

namespace Memspace.Tests.Import;

/// <summary>
/// What QEMU prints is accepted; anything else is refused at its line: ranges QEMU cannot print,
/// overflow markers where nothing wraps, nesting deeper than 512 levels, and real dumps with
/// same-named regions.
/// </summary>
public class ImportRefusalTests
{
    private const string Head = "address-space: memory\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n";

    private static MtreeImportException Refused(string text)
        => Assert.Throws<MtreeImportException>(() => MtreeImporter.Import(text));

    [Theory]
    [InlineData("address-space: memory\n  ffffffffffffffff-0000000000000000 (prio 0, i/o): system\n\n", 2)]
    [InlineData(Head + "    0000000000001000-0000000000000fff (prio 0, ram): backwards\n\n", 3)]
    [InlineData(Head + "    0000000000000000-ffffffffffffffff (prio 0, ram): huge\n\n", 3)]
    [InlineData(Head + "    0000000000000000-7fffffffffffffff (prio 0, rom): beyond-the-dirty-bitmaps\n\n", 3)]
    [InlineData(Head + "[DETECTED OVERFLOW!]     0000000000001000-0000000000001fff (prio 0, ram): marked\n\n", 3)]
    [InlineData(Head + "    0000000000001000-0000000000001fff (prio 0, i/o): alias window @target 0000000000002000-0000000000001000\n\nmemory-region: target\n  0000000000000000-000000000000ffff (prio 0, i/o): target\n\n", 3)]
    [InlineData(Head + "    0000000000001000-0000000000001fff (prio 0, i/o): dev\n    0000000000000000-0000000000000fff (prio 0, i/o): before\n\n", 3)]
    public void RangesQemuCannotPrintAreRefusedAtTheirLine(string text, int line)
    {
        MtreeImportException e = Refused(text);
        Assert.Equal(line, e.LineNumber);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void AMarkerOnARangeThatReallyWrapsIsQemuOutput()
    {
        string text = Head + "[DETECTED OVERFLOW!]     fffffffffffff000-0000000000000fff (prio 0, i/o): wraps\n\n";
        using MemorySystem s = MtreeImporter.Import(text);
        Assert.Equal(text, MtreePrinter.ToText(s, disabled: true));
    }

    [Fact]
    public void CarriageReturnsAndOwnerSuffixesAreAccepted()
    {
        string text = Head + "    0000000000001000-0000000000001fff (prio 0, ram): ram owner:{dev path=/machine/peripheral-anon/device[1]}\n\n";
        using MemorySystem s = MtreeImporter.Import(text.Replace("\n", "\r\n"));
        Assert.Equal(Head + "    0000000000001000-0000000000001fff (prio 0, ram): ram\n\n", MtreePrinter.ToText(s, disabled: true));
    }

    private static IEnumerable<string> NestedLines(int levels)
    {
        yield return "address-space: memory\n";
        for (int level = 1; level <= levels; level++)
        {
            yield return new string(' ', 2 * level) + $"0000000000000000-000000000000ffff (prio 0, i/o): c{level}\n";
        }
        yield return "\n";
    }

    private static string Nested(int levels) => string.Concat(NestedLines(levels));

    /// <summary>Text made as it is read, so a dump of any depth costs only what the importer reads of it.</summary>
    private sealed class LazyReader(IEnumerable<string> pieces) : TextReader
    {
        private readonly IEnumerator<string> _pieces = pieces.GetEnumerator();
        private string _current = "";
        private int _at;

        public override int Read()
        {
            while (_at == _current.Length)
            {
                if (!_pieces.MoveNext())
                {
                    return -1;
                }
                _current = _pieces.Current;
                _at = 0;
            }
            return _current[_at++];
        }

        public override int Peek() => throw new NotSupportedException();
    }

    [Fact]
    public void NestingIsBoundedAtTheFirstLineTooDeep()
    {
        using (MemorySystem ok = MtreeImporter.Import(Nested(512)))
        {
            Assert.Equal(Nested(512), MtreePrinter.ToText(ok, disabled: true));
        }
        var watch = Stopwatch.StartNew();
        MtreeImportException e = Assert.Throws<MtreeImportException>(() => MtreeImporter.Import(new LazyReader(NestedLines(20_000))));
        Assert.Equal(514, e.LineNumber);
        Assert.Contains("513 levels", e.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void AliasesCountTowardsTheDepth()
    {
        // 300 levels in the tree, then an alias into a section that nests 300 more.
        var sb = new StringBuilder("address-space: memory\n");
        for (int level = 1; level < 300; level++)
        {
            sb.Append(' ', 2 * level).Append("0000000000000000-000000000000ffff (prio 0, i/o): c").Append(level).Append('\n');
        }
        sb.Append(' ', 600).Append("0000000000000000-000000000000ffff (prio 0, i/o): alias a @s 0000000000000000-000000000000ffff\n\nmemory-region: s\n");
        int sectionStart = 299 + 4;
        for (int level = 1; level <= 300; level++)
        {
            sb.Append(' ', 2 * level).Append("0000000000000000-000000000000ffff (prio 0, i/o): ").Append(level == 1 ? "s" : $"d{level}").Append('\n');
        }
        MtreeImportException e = Refused(sb.Append('\n').ToString());
        Assert.Equal(sectionStart + 213, e.LineNumber);
        Assert.Contains("aliases", e.Message);
    }

    [Fact]
    public void SameNamedRamOfTwoDevicesGetsTwoBlocks()
    {
        using MemorySystem s = MtreeImporter.Import(QemuCorpus.Read("x86-q35-512M-two-vga-firmware-run", "mtree-D.txt"), QemuConformanceTests.OptionsFor(""));
        Assert.Equal(["dev1/vga.vram", "dev2/vga.vram"], s.RamList.Blocks.Where(b => b.RegionName == "vga.vram").Select(b => b.IdStr).Order());
    }

    [Fact]
    public void ImportFileNamesTheFileAndRefusesWhatIsNotADump()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        try
        {
            Assert.Equal($"{dir}: is a directory, not a dump", Assert.Throws<MtreeImportException>(() => MtreeImporter.ImportFile(dir)).Message);
            Assert.Equal($"{dir}/none: no such file", Assert.Throws<MtreeImportException>(() => MtreeImporter.ImportFile($"{dir}/none")).Message);
            Assert.StartsWith("/dev/zero:1: line longer than", Assert.Throws<MtreeImportException>(() => MtreeImporter.ImportFile("/dev/zero")).Message);
            Assert.StartsWith("/dev/null: no 'address-space:' block", Assert.Throws<MtreeImportException>(() => MtreeImporter.ImportFile("/dev/null")).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ADumpWithTwentyThousandRamRegionsImportsInUnderFiveSeconds()
    {
        var sb = new StringBuilder(Head);
        for (int i = 0; i < 20_000; i++)
        {
            ulong start = (ulong)i * 0x2000;
            sb.Append("    ").Append(start.ToString("x16")).Append('-').Append((start + 0xfff).ToString("x16")).Append(" (prio 0, ram): ram").Append(i).Append('\n');
        }
        string text = sb.Append('\n').ToString();
        TimeSpan best = TimeSpan.MaxValue;
        for (int run = 0; run < 3 && best >= TimeSpan.FromSeconds(5); run++)
        {
            var watch = Stopwatch.StartNew();
            using MemorySystem s = MtreeImporter.Import(text);
            best = TimeSpan.FromTicks(Math.Min(best.Ticks, watch.Elapsed.Ticks));
            Assert.Equal(20_000, s.RamList.Blocks.Count);
        }
        Assert.True(best < TimeSpan.FromSeconds(5), $"took {best.TotalMilliseconds:F0} ms");
    }
}
