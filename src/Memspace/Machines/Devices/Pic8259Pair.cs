using Memspace.Machines.State;
using Memspace.Regions;
using Memspace.Vcpus;

namespace Memspace.Machines.Devices;

/// <summary>
/// The PC's cascaded 8259 pair in userspace (QEMU's <c>isa-pic</c> without KVM's irqchip): the master at
/// ports 0x20-0x21, the slave at 0xa0-0xa1 on the master's input 2, and the edge/level control
/// registers at 0x4d0-0x4d1, as regions named "pic" and "elcr" like QEMU's. It is the
/// <see cref="IInterruptController"/> of a vCPU that has no in-kernel irqchip (Unicorn).
/// </summary>
public sealed class Pic8259Pair : IInterruptController, IDeviceState
{
    private readonly Lock _lock = new();

    /// <summary>Creates the pair and its I/O regions (not yet mapped).</summary>
    /// <param name="system">The memory system.</param>
    public Pic8259Pair(MemorySystem system)
    {
        Master = new Pic8259(0xf8);
        Slave = new Pic8259(0xde);
        MasterRegion = MemoryRegion.CreateIo(system, "pic", 2, Ops(Master), MemoryRegionOwner.Device("isa-i8259"));
        SlaveRegion = MemoryRegion.CreateIo(system, "pic", 2, Ops(Slave), MemoryRegionOwner.Device("isa-i8259"));
        MasterElcr = MemoryRegion.CreateIo(system, "elcr", 1, ElcrOps(Master), MemoryRegionOwner.Device("isa-i8259"));
        SlaveElcr = MemoryRegion.CreateIo(system, "elcr", 1, ElcrOps(Slave), MemoryRegionOwner.Device("isa-i8259"));
    }

    /// <summary>The master chip (IRQ 0-7).</summary>
    public Pic8259 Master { get; }

    /// <summary>The slave chip (IRQ 8-15, on the master's input 2).</summary>
    public Pic8259 Slave { get; }

    /// <summary>"pic" at 0x20.</summary>
    public MemoryRegion MasterRegion { get; }

    /// <summary>"pic" at 0xa0.</summary>
    public MemoryRegion SlaveRegion { get; }

    /// <summary>"elcr" at 0x4d0.</summary>
    public MemoryRegion MasterElcr { get; }

    /// <summary>"elcr" at 0x4d1.</summary>
    public MemoryRegion SlaveElcr { get; }

    /// <summary>Maps the regions at their ISA ports.</summary>
    /// <param name="io">The I/O root ("io").</param>
    public void MapInto(MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(io);
        io.AddSubregion(0x20, MasterRegion);
        io.AddSubregion(0xa0, SlaveRegion);
        io.AddSubregion(0x4d0, MasterElcr);
        io.AddSubregion(0x4d1, SlaveElcr);
    }

    /// <inheritdoc/>
    public bool InterruptPending
    {
        get
        {
            lock (_lock)
            {
                return Master.PendingIrq() >= 0;
            }
        }
    }

    /// <summary>Something that can raise an interrupt later (a running timer), set by the board.</summary>
    public Func<bool>? Waker { get; set; }

    /// <inheritdoc/>
    public bool CanRaise => Waker?.Invoke() ?? false;

    /// <inheritdoc/>
    public event Action? InterruptRaised;

    /// <summary>"i8259@0x20+0xa0": both chips, master fields first.</summary>
    public string StateName => "i8259@0x20+0xa0";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes both chips' registers and modes ("master.*", "slave.*").</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            Master.SaveState(writer, "master.");
            Slave.SaveState(writer, "slave.");
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote and re-evaluates the cascade (the slave's output on the master's input 2).</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        Action master = Master.ReadState(reader, "master.");
        Action slave = Slave.ReadState(reader, "slave.");
        reader.EnsureEnd();
        bool raised;
        lock (_lock)
        {
            master();
            slave();
            raised = UpdateLocked();
        }
        if (raised)
        {
            InterruptRaised?.Invoke();
        }
    }

    /// <summary>Sets ISA interrupt line <paramref name="irq"/> (0-15).</summary>
    /// <param name="irq">The line.</param>
    /// <param name="level">Its level.</param>
    public void SetIrq(int irq, bool level)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)irq, 15u, nameof(irq));
        bool raised;
        lock (_lock)
        {
            (irq < 8 ? Master : Slave).SetIrq(irq & 7, level);
            raised = UpdateLocked();
        }
        if (raised)
        {
            InterruptRaised?.Invoke();
        }
    }

    /// <summary>An edge on line <paramref name="irq"/>: raised, then lowered.</summary>
    /// <param name="irq">The line.</param>
    public void Pulse(int irq)
    {
        SetIrq(irq, true);
        SetIrq(irq, false);
    }

    /// <inheritdoc/>
    public int Acknowledge()
    {
        lock (_lock)
        {
            int irq = Master.PendingIrq();
            int vector;
            if (irq < 0)
            {
                vector = Master.IrqBase + 7; // spurious
            }
            else
            {
                Master.Acknowledge(irq);
                if (irq == 2)
                {
                    int slaveIrq = Slave.PendingIrq();
                    if (slaveIrq >= 0)
                    {
                        Slave.Acknowledge(slaveIrq);
                    }
                    vector = Slave.IrqBase + (slaveIrq >= 0 ? slaveIrq : 7);
                }
                else
                {
                    vector = Master.IrqBase + irq;
                }
            }
            UpdateLocked();
            return vector;
        }
    }

    /// <summary>The slave's output drives the master's input 2; returns whether INTR is now asserted.</summary>
    private bool UpdateLocked()
    {
        Master.SetIrq(2, Slave.PendingIrq() >= 0);
        return Master.PendingIrq() >= 0;
    }

    private MemoryRegionOps Ops(Pic8259 chip) => new()
    {
        Read = (addr, _) =>
        {
            byte v;
            lock (_lock)
            {
                v = chip.Read((int)addr & 1);
                UpdateLocked();
            }
            return v;
        },
        Write = (addr, value, _) =>
        {
            bool raised;
            lock (_lock)
            {
                chip.Write((int)addr & 1, (byte)value);
                raised = UpdateLocked();
            }
            if (raised)
            {
                InterruptRaised?.Invoke();
            }
        },
        Valid = new ValidAccess { MinAccessSize = 1, MaxAccessSize = 1 },
        Impl = new ImplAccess { MinAccessSize = 1, MaxAccessSize = 1 },
    };

    private MemoryRegionOps ElcrOps(Pic8259 chip) => new()
    {
        Read = (_, _) =>
        {
            lock (_lock)
            {
                return chip.Elcr;
            }
        },
        Write = (_, value, _) =>
        {
            lock (_lock)
            {
                chip.WriteElcr((byte)value);
                UpdateLocked();
            }
        },
        Valid = new ValidAccess { MinAccessSize = 1, MaxAccessSize = 1 },
        Impl = new ImplAccess { MinAccessSize = 1, MaxAccessSize = 1 },
    };
}
