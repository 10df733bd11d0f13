using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The I/O APIC at 0xfec00000 ("ioapic", or "kvm-ioapic" when KVM's in-kernel irqchip serves it), 4 KiB:
/// the index register IOREGSEL at 0x00 and the window IOWIN at 0x10 reach the id (0x00), version (0x01:
/// version 0x20, 24 pins) and arbitration (0x02) registers and the 24 redirection entries (0x10-0x3f),
/// masked at reset. No interrupt is delivered.
/// </summary>
public sealed class IoApic
{
    /// <summary>Its base address.</summary>
    public const ulong DefaultAddress = 0xfec00000;

    /// <summary>Number of pins.</summary>
    public const int Pins = 24;

    private readonly Lock _lock = new();
    private readonly ulong[] _redirection = new ulong[Pins];
    private uint _select, _id;

    /// <summary>Creates the region.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="inKernel">Named as QEMU names KVM's in-kernel model.</param>
    public IoApic(MemorySystem system, bool inKernel)
    {
        Region = DeviceRegion.Create(system, inKernel ? "kvm-ioapic" : "ioapic", 0x1000, (a, _) => Read(a), (a, v, _) => Write(a, (uint)v),
            MemoryRegionOwner.Device(inKernel ? "kvm-ioapic" : "ioapic", "/machine/ioapic"));
        Reset();
    }

    /// <summary>"ioapic"/"kvm-ioapic".</summary>
    public MemoryRegion Region { get; }

    /// <summary>Redirection entry <paramref name="pin"/>.</summary>
    /// <param name="pin">0-23.</param>
    public ulong Redirection(int pin) { lock (_lock) { return _redirection[pin % Pins]; } }

    /// <summary>Reset: every pin masked.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _select = 0;
            _id = 0;
            Array.Fill(_redirection, 1UL << 16);
        }
    }

    private ulong Read(ulong offset)
    {
        lock (_lock)
        {
            if (offset == 0x00)
            {
                return _select;
            }
            if (offset != 0x10)
            {
                return 0;
            }
            return _select switch
            {
                0x00 => _id << 24,
                0x01 => 0x0017_0020u, // 24 pins (max redirection entry 23), version 0x20
                0x02 => _id << 24,
                >= 0x10 and < 0x10 + (2 * Pins) => (uint)(_redirection[(_select - 0x10) / 2] >> ((_select & 1) == 0 ? 0 : 32)),
                _ => 0,
            };
        }
    }

    private void Write(ulong offset, uint value)
    {
        lock (_lock)
        {
            if (offset == 0x00)
            {
                _select = value & 0xff;
                return;
            }
            if (offset != 0x10)
            {
                return;
            }
            if (_select == 0x00)
            {
                _id = (value >> 24) & 0x0f;
            }
            else if (_select is >= 0x10 and < 0x10 + (2 * Pins))
            {
                int pin = (int)(_select - 0x10) / 2;
                ulong old = _redirection[pin];
                const ulong readOnly = (1UL << 12) | (1UL << 14); // delivery status, remote IRR
                ulong next = (_select & 1) == 0 ? (old & 0xffff_ffff_0000_0000) | value : (old & 0xffff_ffff) | ((ulong)value << 32);
                _redirection[pin] = (next & ~readOnly) | (old & readOnly);
            }
        }
    }
}
