using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Memspace.Kvm;
using Memspace.Tests.Support;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Memspace.Tests.Docs;

/// <summary>
/// The README's C# snippets compile and run, as a reader takes them: one program that grows snippet
/// by snippet (each may use what the earlier ones declared; its own <c>using</c> lines go to the top),
/// in a project with the SDK's implicit usings and a reference to the Memspace package.
/// </summary>
public partial class ReadmeSnippetTests
{
    [GeneratedRegex(@"^```csharp\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^using [A-Za-z_][A-Za-z0-9_.]*;")]
    private static partial Regex UsingDirective();

    private static readonly string[] s_implicitUsings =
        ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    private static readonly Lock s_console = new();

    internal static List<string> Snippets()
        => CSharpBlock().Matches(File.ReadAllText(RepositoryFiles.PathOf("README.md")).Replace("\r\n", "\n", StringComparison.Ordinal))
            .Select(m => m.Groups[1].Value).ToList();

    public static TheoryData<int> SnippetNumbers() => new(Enumerable.Range(1, Snippets().Count));

    [Fact]
    public void TheReadmeHasItsSnippets() => Assert.True(Snippets().Count >= 4, $"found {Snippets().Count} C# snippets in README.md");

    [Theory]
    [MemberData(nameof(SnippetNumbers))]
    public void SnippetCompilesAndRuns(int number)
    {
        List<string> snippets = Snippets().Take(number).ToList();
        byte[] image = Compile(snippets);
        if (snippets.Any(s => s.Contains("KvmAccelerator.Create", StringComparison.Ordinal)) && !KvmVm.IsAvailable(out string? why))
        {
            Assert.Skip($"needs KVM: {why} (snippet {number} compiled, not run)");
        }
        string output = RunProgram(image);
        if (snippets[^1].Contains("vcpu.RunOnce()", StringComparison.Ordinal))
        {
            // The snippet's comment promises a port I/O exit from the guest code it writes.
            Assert.Contains("KVM_EXIT_IO out port 0x80 size 1 data 0x2a", output, StringComparison.Ordinal);
        }
    }

    private static byte[] Compile(List<string> snippets)
    {
        var usings = new List<string>(s_implicitUsings.Select(u => $"global using global::{u};"));
        var body = new List<string>();
        foreach (string snippet in snippets)
        {
            foreach (string line in snippet.Split('\n'))
            {
                (UsingDirective().IsMatch(line) ? usings : body).Add(line);
            }
        }
        string source = string.Join("\n", usings) + "\n" + string.Join("\n", body);
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Append(typeof(MemorySystem).Assembly.Location)
            .Select(p => MetadataReference.CreateFromFile(p));
        CSharpCompilation compilation = CSharpCompilation.Create(
            "ReadmeSnippets",
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest))],
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        Assert.True(result.Success, "README snippets do not compile:\n" + string.Join("\n",
            result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString())) + "\n--- source ---\n" + source);
        return stream.ToArray();
    }

    private static string RunProgram(byte[] image)
    {
        var context = new AssemblyLoadContext("readme-snippets", isCollectible: true);
        try
        {
            Assembly program = context.LoadFromStream(new MemoryStream(image));
            var output = new StringWriter();
            lock (s_console)
            {
                TextWriter previous = Console.Out;
                Console.SetOut(output);
                try
                {
                    program.EntryPoint!.Invoke(null, program.EntryPoint.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
                }
                finally
                {
                    Console.SetOut(previous);
                }
            }
            return output.ToString();
        }
        finally
        {
            context.Unload();
        }
    }
}
