using System.Text;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The ISA debug console ("isa-debugcon", QEMU's <c>isa-debugcon</c> at <c>iobase=0x402</c>): every byte
/// written is output; a read returns the readback value 0xe9, which is how SeaBIOS detects it. Output is
/// split into lines for <see cref="LineWritten"/>.
/// </summary>
public sealed class IsaDebugConsole : IDeviceState
{
    /// <summary>Port SeaBIOS uses for its debug log.</summary>
    public const ushort DefaultPort = 0x402;

    private readonly Lock _lock = new();
    private readonly StringBuilder _all = new();
    private readonly StringBuilder _line = new();

    /// <summary>Creates the port.</summary>
    /// <param name="system">The memory system.</param>
    public IsaDebugConsole(MemorySystem system)
    {
        Region = DeviceRegion.Create(system, "isa-debugcon", 1, (_, _) => 0xe9, (_, v, _) => Write((byte)v),
            MemoryRegionOwner.Device("isa-debugcon", "/machine/peripheral-anon/device[0]"), 1);
    }

    /// <summary>"isa-debugcon".</summary>
    public MemoryRegion Region { get; }

    /// <summary>Everything written so far (bytes as Latin-1 characters).</summary>
    public string Output { get { lock (_lock) { return _all.ToString(); } } }

    /// <summary>Raised for every complete line (without its newline), on the writing thread.</summary>
    public event Action<string>? LineWritten;

    /// <summary>Longest unfinished line that travels with the machine (the rest of a longer one was already output).</summary>
    public const int MaxSavedLine = 4096;

    /// <summary>"isa-debugcon@0x402".</summary>
    public string StateName => "isa-debugcon@0x402";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes the unfinished line ("line", its last <see cref="MaxSavedLine"/> bytes), so that the destination completes it; the port has no register.</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        string line;
        lock (_lock)
        {
            line = _line.ToString();
        }
        if (line.Length > MaxSavedLine)
        {
            line = line[^MaxSavedLine..];
        }
        writer.WriteBytes("line", Encoding.Latin1.GetBytes(line));
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote.</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        byte[] line = reader.ReadBytes("line", MaxSavedLine);
        if (line.AsSpan().Contains((byte)'\n'))
        {
            throw reader.Fail("field 'line' holds a newline; an unfinished line cannot");
        }
        reader.EnsureEnd();
        lock (_lock)
        {
            _line.Clear().Append(Encoding.Latin1.GetString(line));
        }
    }

    private void Write(byte b)
    {
        string? line = null;
        lock (_lock)
        {
            char c = (char)b;
            _all.Append(c);
            if (c == '\n')
            {
                line = _line.ToString().TrimEnd('\r');
                _line.Clear();
            }
            else
            {
                _line.Append(c);
            }
        }
        if (line is not null)
        {
            LineWritten?.Invoke(line);
        }
    }
}
