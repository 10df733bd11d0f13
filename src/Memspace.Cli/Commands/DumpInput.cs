using Memspace.Import;

namespace Memspace.Cli.Commands;

/// <summary>
/// Reads a QEMU memory map from where users have one: a file or standard input holding
/// <c>info mtree -D</c> output or a pasted monitor transcript (with <c>info mtree -f</c> if present),
/// or a live QEMU's QMP socket (both views queried). Imports it with the facts derived from the flat
/// views, or QEMU 7.2's known devices without them, and prints the warnings on standard error.
/// </summary>
internal static class DumpInput
{
    private static readonly TimeSpan s_qmpTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Reads a dump file, or standard input for "-"; null after writing why not.</summary>
    public static (string Dump, string? FlatViews)? ReadFile(string path, TextWriter error)
    {
        string text;
        try
        {
            if (path != "-" && Directory.Exists(path))
            {
                throw new MtreeImportException(path, 0, "is a directory, not a dump");
            }
            if (path != "-" && !File.Exists(path))
            {
                throw new MtreeImportException(path, 0, "no such file");
            }
            text = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or MtreeImportException)
        {
            string why = e is MtreeImportException m ? m.Message : new MtreeImportException(path, 0, $"cannot read it: {e.Message}").Message;
            error.WriteLine($"memspace: cannot import '{path}': {why}");
            return null;
        }
        try
        {
            return QemuDumpImport.Split(text);
        }
        catch (MtreeImportException e)
        {
            error.WriteLine($"memspace: cannot import '{(path == "-" ? "standard input" : path)}': {(path == "-" ? e : e.InFile(path)).Message}");
            return null;
        }
    }

    /// <summary>Queries a live QEMU for both views; null after writing why not.</summary>
    public static (string Dump, string? FlatViews)? Query(string socket, TextWriter error)
    {
        try
        {
            using QmpMonitor monitor = QmpMonitor.Connect(socket, s_qmpTimeout);
            return (monitor.HumanMonitorCommand("info mtree -D"), monitor.HumanMonitorCommand("info mtree -f"));
        }
        catch (QmpException e)
        {
            error.WriteLine($"memspace: {e.Message}");
            return null;
        }
    }

    /// <summary>Imports, writing the warnings; null after writing why the dump was refused.</summary>
    /// <param name="input">The dump and, if there, the flat views.</param>
    /// <param name="extra">Facts the user gave.</param>
    /// <param name="what">How the source is named in messages.</param>
    /// <param name="error">Standard error.</param>
    /// <param name="fileName">The file the dump came from, named with the line in a refusal (FILE:LINE: problem).</param>
    public static MemorySystem? Import((string Dump, string? FlatViews) input, MtreeImportOptions? extra, string what, TextWriter error, string? fileName = null)
    {
        try
        {
            QemuDumpImportResult result = QemuDumpImport.Import(input.Dump, input.FlatViews, extra);
            foreach (string warning in result.Warnings.Take(20))
            {
                error.WriteLine($"memspace: warning: {what}: {warning}");
            }
            if (result.Warnings.Count > 20)
            {
                error.WriteLine($"memspace: warning: {what}: {result.Warnings.Count - 20} more differences");
            }
            return result.System;
        }
        catch (MtreeImportException e)
        {
            error.WriteLine($"memspace: cannot import {what}: {(fileName is null ? e : e.InFile(fileName)).Message}");
            return null;
        }
    }
}
