using Memspace.Core;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// Memspace's demo MMIO device ("memspace-demo", 4 KiB, not part of any QEMU machine), for guests
/// that want to show an MMIO exit end to end. Registers, 4 bytes wide:
/// 0x00 ID (reads "MSPC", 0x4350534d), 0x04 SCRATCH (reads back what was written),
/// 0x08 COUNTER (counts its own reads, from 1), 0x0c DOORBELL (each write is recorded in
/// <see cref="Doorbells"/> and raises <see cref="Rung"/>). Other offsets read 0 and ignore writes.
/// </summary>
internal sealed class DemoDevice : IDeviceState
{
    /// <summary>Where the machines map it: free on pc, q35 and microvm.</summary>
    public const ulong DefaultAddress = 0xfe00_0000;

    /// <summary>Value of the ID register.</summary>
    public const uint Id = 0x4350_534d;

    private readonly List<uint> _doorbells = [];
    private readonly Lock _lock = new();
    private uint _scratch;
    private uint _counter;

    /// <summary>Creates the device's region (not yet mapped).</summary>
    /// <param name="system">The memory system.</param>
    public DemoDevice(MemorySystem system)
    {
        Region = MemoryRegion.CreateIo(system, "memspace-demo", 0x1000, new MemoryRegionOps
        {
            Read = (addr, _) => Read(addr),
            Write = (addr, value, _) => Write(addr, (uint)value),
            Valid = new ValidAccess { MinAccessSize = 4, MaxAccessSize = 4 },
            Endianness = DeviceEndianness.Little,
        }, MemoryRegionOwner.Device("memspace-demo", "/machine/memspace-demo"));
    }

    /// <summary>The device's 4 KiB of registers.</summary>
    public MemoryRegion Region { get; }

    /// <summary>Values written to DOORBELL, in order.</summary>
    public IReadOnlyList<uint> Doorbells
    {
        get
        {
            lock (_lock)
            {
                return [.. _doorbells];
            }
        }
    }

    /// <summary>Raised on every DOORBELL write, on the vCPU thread.</summary>
    public event Action<uint>? Rung;

    /// <summary>"memspace-demo@0xfe000000".</summary>
    public string StateName => "memspace-demo@0xfe000000";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes SCRATCH and COUNTER (the doorbell log is the host's record, not a register).</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            writer.WriteU32("scratch", _scratch);
            writer.WriteU32("counter", _counter);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote.</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        uint scratch = reader.ReadU32("scratch");
        uint counter = reader.ReadU32("counter");
        reader.EnsureEnd();
        lock (_lock)
        {
            _scratch = scratch;
            _counter = counter;
        }
    }

    private ulong Read(ulong offset)
    {
        lock (_lock)
        {
            return offset switch
            {
                0x00 => Id,
                0x04 => _scratch,
                0x08 => ++_counter,
                _ => 0,
            };
        }
    }

    private void Write(ulong offset, uint value)
    {
        lock (_lock)
        {
            switch (offset)
            {
                case 0x04:
                    _scratch = value;
                    break;
                case 0x0c:
                    _doorbells.Add(value);
                    break;
                default:
                    return;
            }
        }
        if (offset == 0x0c)
        {
            Rung?.Invoke(value);
        }
    }
}
