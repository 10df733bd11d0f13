using Memspace.Core;

namespace Memspace.Import;

/// <summary>A QEMU <c>info mtree</c> dump that cannot be imported: says which file, which line and what is wrong.</summary>
public sealed class MtreeImportException : MemspaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="lineNumber">1-based line number, or 0 when the problem is not on one line.</param>
    /// <param name="message">What is wrong.</param>
    public MtreeImportException(int lineNumber, string message)
        : this(null, lineNumber, message)
    {
    }

    /// <summary>Creates the exception for a dump read from a file.</summary>
    /// <param name="fileName">The file, or null.</param>
    /// <param name="lineNumber">1-based line number, or 0 when the problem is not on one line.</param>
    /// <param name="message">What is wrong.</param>
    public MtreeImportException(string? fileName, int lineNumber, string message)
        : base(Format(fileName, lineNumber, message))
    {
        FileName = fileName;
        LineNumber = lineNumber;
        Problem = message;
    }

    /// <summary>The file the dump came from, or null.</summary>
    public string? FileName { get; }

    /// <summary>1-based line number, or 0.</summary>
    public int LineNumber { get; }

    /// <summary>What is wrong, without the file and line.</summary>
    public string Problem { get; }

    /// <summary>The same problem, attributed to <paramref name="fileName"/>.</summary>
    /// <param name="fileName">The file the dump came from.</param>
    public MtreeImportException InFile(string fileName) => new(fileName, LineNumber, Problem);

    private static string Format(string? fileName, int lineNumber, string message)
        => (fileName, lineNumber) switch
        {
            (null, > 0) => $"line {lineNumber}: {message}",
            (null, _) => message,
            (_, > 0) => $"{fileName}:{lineNumber}: {message}",
            _ => $"{fileName}: {message}",
        };
}
