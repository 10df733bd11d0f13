using Memspace.Core;

namespace Memspace.Import;

/// <summary>A QEMU <c>info mtree</c> dump that cannot be imported: says which line and what was expected.</summary>
public sealed class MtreeImportException : MemspaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="lineNumber">1-based line number, or 0 when the problem is not on one line.</param>
    /// <param name="message">What is wrong.</param>
    public MtreeImportException(int lineNumber, string message)
        : base(lineNumber > 0 ? $"line {lineNumber}: {message}" : message)
    {
        LineNumber = lineNumber;
    }

    /// <summary>1-based line number, or 0.</summary>
    public int LineNumber { get; }
}
