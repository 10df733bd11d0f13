using System.Text.RegularExpressions;
using Memspace.Tests.Support;

namespace Memspace.Tests.Architecture;

/// <summary>
/// Unsafe code stays narrow and argued (as vm-memory and Firecracker require): no type is declared
/// <c>unsafe</c>, and every <c>unsafe</c> method, property, block or import has a <c>// SAFETY:</c>
/// comment right above it (attributes and doc comments may sit between).
/// </summary>
public partial class UnsafeCodeTests
{
    [GeneratedRegex(@"\bunsafe\b")]
    private static partial Regex UnsafeKeyword();

    [GeneratedRegex(@"\bunsafe\b[\w\s]*\b(class|struct|record|interface)\b")]
    private static partial Regex UnsafeType();

    public static TheoryData<string> SourceFiles()
    {
        var data = new TheoryData<string>();
        foreach (string dir in new[] { "src", "bench", "tests" })
        {
            foreach (string f in Directory.EnumerateFiles(RepositoryFiles.PathOf(dir), "*.cs", SearchOption.AllDirectories)
                         .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
                         .Order(StringComparer.Ordinal))
            {
                data.Add(Path.GetRelativePath(RepositoryFiles.Root, f));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SourceFiles))]
    public void EveryUnsafeSiteIsNarrowAndCarriesItsSafetyArgument(string file)
    {
        string[] lines = File.ReadAllLines(RepositoryFiles.PathOf(file));
        var problems = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            string code = CodeOf(lines[i]);
            if (!UnsafeKeyword().IsMatch(code))
            {
                continue;
            }
            if (UnsafeType().IsMatch(code))
            {
                problems.Add($"{file}:{i + 1}: a type is declared unsafe; put unsafe on the members or blocks that need it");
            }
            if (!HasSafetyComment(lines, i))
            {
                problems.Add($"{file}:{i + 1}: unsafe without a '// SAFETY:' comment above it");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void TheCheckFindsAnUndocumentedSite()
    {
        string[] bad = ["class C", "{", "    /// <summary>x</summary>", "    static unsafe void F() { }", "}"];
        Assert.False(HasSafetyComment(bad, 3));
        string[] good = ["    // SAFETY: p points at 8 readable bytes.", "    [Pure]", "    static unsafe void F() { }"];
        Assert.True(HasSafetyComment(good, 2));
        Assert.Matches(UnsafeType(), "internal sealed unsafe partial class X");
        Assert.DoesNotMatch(UnsafeType(), "    unsafe");
    }

    /// <summary>The line without a trailing comment and string literals (good enough for this check).</summary>
    private static string CodeOf(string line)
    {
        string noStrings = Regex.Replace(line, "\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"");
        int comment = noStrings.IndexOf("//", StringComparison.Ordinal);
        return comment >= 0 ? noStrings[..comment] : noStrings;
    }

    /// <summary>Whether the lines above <paramref name="index"/> (skipping attributes and comments) include a SAFETY comment.</summary>
    private static bool HasSafetyComment(string[] lines, int index)
    {
        for (int j = index - 1; j >= 0; j--)
        {
            string t = lines[j].Trim();
            if (t.StartsWith("// SAFETY:", StringComparison.Ordinal))
            {
                return true;
            }
            if (t.StartsWith("//", StringComparison.Ordinal) || t.StartsWith('['))
            {
                continue;
            }
            return false;
        }
        return false;
    }
}
