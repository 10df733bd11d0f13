namespace Memspace.Tests.Support;

/// <summary>Finds files of the repository (the directory holding Memspace.slnx) from the test's output directory.</summary>
internal static class RepositoryFiles
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Memspace.slnx")))
            {
                return d.FullName;
            }
        }
        throw new InvalidOperationException($"no Memspace.slnx above {AppContext.BaseDirectory}");
    });

    /// <summary>The repository's root directory.</summary>
    public static string Root => s_root.Value;

    /// <summary>The full path of a file given relative to the root.</summary>
    public static string PathOf(string relative) => Path.Combine(Root, relative);
}
