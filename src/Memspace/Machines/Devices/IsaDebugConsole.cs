using System.Text;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The ISA debug console ("isa-debugcon", QEMU's <c>isa-debugcon</c> at <c>iobase=0x402</c>): every byte
/// written is output; a read returns the readback value 0xe9, which is how SeaBIOS detects it. Output is
/// split into lines for <see cref="LineWritten"/>.
/// </summary>
public sealed class IsaDebugConsole
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
