using System.Diagnostics;
using CsCheck;
using Memspace.Import;
using Memspace.Printing;
using Memspace.Tests.Cli;
using Memspace.Tests.Support;

namespace Memspace.Tests.Import;

/// <summary>
/// Real corpus dumps with random edits (lines deleted, duplicated, swapped, re-indented, digits and
/// types changed, overflow markers added, control characters, truncation): the importer either
/// refuses at a line or builds a graph whose printout imports to the same printout; the command line
/// exits 0 or 2 with one stderr line, in bounded time.
/// </summary>
public class MutatedDumpTests
{
    private static readonly string[] s_cases =
        ["x86-q35-512M-root-ports-firmware-S", "x86-pc-512M-nodefaults-S", "x86-q35-512M-two-vga-firmware-run", "arm-mps2-an505-S"];

    private static readonly Gen<(int Kind, int A, int B, int C)> s_edit =
        Gen.Select(Gen.Int[0, 9], Gen.Int[0, 100_000], Gen.Int[0, 100_000], Gen.Int[0, 255]);

    private static readonly Gen<(int Case, (int Kind, int A, int B, int C)[] Edits)> s_mutation =
        Gen.Select(Gen.Int[0, s_cases.Length - 1], s_edit.Array[1, 4]);

    internal static string Mutate(int caseIndex, (int Kind, int A, int B, int C)[] edits)
    {
        var lines = QemuCorpus.Read(s_cases[caseIndex], "mtree-D.txt").Split('\n').ToList();
        foreach ((int kind, int a, int b, int c) in edits)
        {
            int i = a % lines.Count, j = b % lines.Count;
            string l = lines[i];
            switch (kind)
            {
                case 0: lines.RemoveAt(i); break;
                case 1: lines.Insert(j, l); break;
                case 2: (lines[i], lines[j]) = (lines[j], lines[i]); break;
                case 3: lines[i] = "  " + l; break;
                case 4: lines[i] = l.StartsWith("  ", StringComparison.Ordinal) ? l[2..] : l; break;
                case 5 when l.Length > 0:
                    int at = c % l.Length;
                    lines[i] = l[..at] + "0123456789abcdef"[b % 16] + l[(at + 1)..];
                    break;
                case 6: lines[i] = "[DETECTED OVERFLOW!] " + l; break;
                case 7: lines[i] = l.Replace("(prio 0, i/o)", "(prio 0, ram)", StringComparison.Ordinal).Replace("ram)", "rom)", StringComparison.Ordinal); break;
                case 8 when l.Length > 0: lines[i] = l[..(c % l.Length)] + (char)(c % 32) + l[(c % l.Length)..]; break;
                default: lines.RemoveRange(i, lines.Count - i); break;
            }
            if (lines.Count == 0)
            {
                lines.Add("");
            }
        }
        return string.Join('\n', lines);
    }

    [Fact]
    public void TheImporterRefusesAtALineOrRebuildsAStableGraph()
    {
        s_mutation.Sample(m =>
        {
            string text = Mutate(m.Case, m.Edits);
            MemorySystem system;
            try
            {
                system = MtreeImporter.Import(text, QemuConformanceTests.OptionsFor(""));
            }
            catch (MtreeImportException e)
            {
                Assert.DoesNotContain('\n', e.Message);
                return;
            }
            using (system)
            {
                string printed = MtreePrinter.ToText(system, disabled: true);
                using MemorySystem again = MtreeImporter.Import(printed, QemuConformanceTests.OptionsFor(""));
                Assert.Equal(printed, MtreePrinter.ToText(again, disabled: true));
                Assert.Equal(FlatViewPrinter.ToText(system), FlatViewPrinter.ToText(again));
            }
        }, iter: 300);
    }

    [Fact]
    public void TheCommandLineAnswersMutatedDumpsWithOneLine()
    {
        string file = Path.GetTempFileName();
        try
        {
            s_mutation.Sample(m =>
            {
                File.WriteAllText(file, Mutate(m.Case, m.Edits));
                var watch = Stopwatch.StartNew();
                (int code, string stdout, string stderr) = CliInProcess.Run("mtree", "--import", file, "-f");
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "took " + watch.Elapsed);
                if (code == 0)
                {
                    // Success: nothing on stderr but the importer's warnings (regions a -D dump cannot decide).
                    Assert.All(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.StartsWith("memspace: warning: ", line));
                    Assert.StartsWith("FlatView #0", stdout);
                }
                else
                {
                    HostileInputTests.AssertRefused((code, stdout, stderr), 2, file + ":");
                }
            }, iter: 150);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
