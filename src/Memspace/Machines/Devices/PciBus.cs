using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// PCI bus 0 (QEMU's <c>PCIBus</c>): the functions by device/function number and the two containers
/// their BARs map into ("pci" under system memory and the "io" root). Configuration accesses to an
/// absent function read all ones and are otherwise ignored.
/// </summary>
public sealed class PciBus
{
    private readonly PciDevice?[] _functions = new PciDevice?[256];

    /// <summary>Creates an empty bus.</summary>
    /// <param name="memorySpace">Where memory BARs map.</param>
    /// <param name="ioSpace">Where I/O BARs map.</param>
    public PciBus(MemoryRegion memorySpace, MemoryRegion ioSpace)
    {
        MemorySpace = memorySpace;
        IoSpace = ioSpace;
    }

    /// <summary>Where memory BARs map ("pci").</summary>
    public MemoryRegion MemorySpace { get; }

    /// <summary>Where I/O BARs map ("io").</summary>
    public MemoryRegion IoSpace { get; }

    /// <summary>The functions present, in devfn order.</summary>
    public IEnumerable<PciDevice> Functions => _functions.Where(f => f is not null)!;

    /// <summary>Puts <paramref name="function"/> at its devfn.</summary>
    /// <param name="function">The function.</param>
    /// <exception cref="ArgumentException">The slot is taken.</exception>
    public void Attach(PciDevice function)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (_functions[function.Devfn] is { } other)
        {
            throw new ArgumentException($"PCI 00:{function.Devfn >> 3:x2}.{function.Devfn & 7} is taken by {other.DeviceTypeName}");
        }
        _functions[function.Devfn] = function;
        function.Bus = this;
    }

    /// <summary>The function at <paramref name="devfn"/>, or null.</summary>
    /// <param name="devfn">0-255.</param>
    public PciDevice? Function(int devfn) => devfn is >= 0 and < 256 ? _functions[devfn] : null;

    /// <summary>A configuration read on bus <paramref name="bus"/>; absent functions and other buses read all ones.</summary>
    /// <param name="bus">Bus number.</param>
    /// <param name="devfn">Device and function.</param>
    /// <param name="register">Byte offset.</param>
    /// <param name="length">1, 2 or 4.</param>
    public uint ReadConfig(int bus, int devfn, int register, int length)
    {
        if (bus != 0 || Function(devfn) is not { } f)
        {
            return length >= 4 ? uint.MaxValue : (1u << (8 * length)) - 1;
        }
        return f.ReadConfig(register, length);
    }

    /// <summary>A configuration write on bus <paramref name="bus"/>; ignored for absent functions.</summary>
    /// <param name="bus">Bus number.</param>
    /// <param name="devfn">Device and function.</param>
    /// <param name="register">Byte offset.</param>
    /// <param name="value">Value.</param>
    /// <param name="length">1, 2 or 4.</param>
    public void WriteConfig(int bus, int devfn, int register, uint value, int length)
    {
        if (bus == 0 && Function(devfn) is { } f)
        {
            f.WriteConfig(register, value, length);
        }
    }

    /// <summary>Resets every function, in devfn order.</summary>
    public void Reset()
    {
        foreach (PciDevice f in Functions)
        {
            f.Reset();
        }
    }
}
