using System.Buffers.Binary;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The ICH9 LPC bridge at 00:1f.0 (QEMU's <c>ICH9-LPC</c>, 8086:2918): PMBASE (0x40, bits 15-7) and
/// ACPI_CNTL (0x44, bit 7 ACPI_EN) place and enable the "ich9-pm" block; RCBA (0xf0, bit 0 enable) maps
/// the 16 KiB root complex register block "lpc-rcrb-mmio" into system memory with priority 1; PIRQ
/// A-D (0x60-0x63) and E-H (0x68-0x6b) route control registers (0x80 at reset, bit 7 disables); the
/// reset control register "lpc-reset-control" at 0xcf9; APM at 0xb2; the PCI/CPU hotplug blocks at
/// 0xcc0/0xcd8.
/// </summary>
public sealed class Ich9Lpc : PciDevice
{
    /// <summary>PMBASE.</summary>
    public const int PmBase = 0x40;

    /// <summary>ACPI_CNTL.</summary>
    public const int AcpiControl = 0x44;

    /// <summary>Root complex base address.</summary>
    public const int Rcba = 0xf0;

    /// <summary>PIRQ A-D route control.</summary>
    public const int PirqAToD = 0x60;

    /// <summary>PIRQ E-H route control.</summary>
    public const int PirqEToH = 0x68;

    private const uint RcbaMask = 0xffff_c000;
    private readonly byte[] _rcrb = new byte[0x4000];
    private readonly Lock _rcrbLock = new();
    private ulong _rcrbAt = ulong.MaxValue;

    /// <summary>Creates the function and its blocks (mapped by <see cref="Map"/>).</summary>
    /// <param name="machine">The machine.</param>
    /// <param name="smm">Whether SMM is available.</param>
    public Ich9Lpc(Machine machine, bool smm)
        : base(machine, "ICH9-LPC", 0xf8, PciIds.VendorIntel, PciIds.Ich9Lpc, 0x060100, revision: 0x02, multiFunction: true)
    {
        MemorySystem s = machine.System;
        Pm = new Ich9Pm(s, smm, Owner, machine.Options.DeviceClock);
        Apm = new ApmControl(s, Owner);
        ResetControl = new ResetControl(s, "lpc-reset-control", Owner);
        Hotplug = new AcpiHotplug(s, Owner);
        Rcrb = DeviceRegion.Create(s, "lpc-rcrb-mmio", 0x4000, (a, sz) => { lock (_rcrbLock) { return DeviceRegion.ReadLe(_rcrb, a, sz); } },
            (a, v, sz) => { lock (_rcrbLock) { DeviceRegion.WriteLe(_rcrb, [], a, v, sz); } }, Owner);
        BinaryPrimitives.WriteUInt32LittleEndian(WriteMask[PmBase..], 0x0000_ff80);
        WriteMask[AcpiControl] = 0x87; // ACPI_EN and SCI IRQ select
        BinaryPrimitives.WriteUInt32LittleEndian(WriteMask[Rcba..], RcbaMask | 1);
        ResetDefaults();
    }

    /// <summary>The power-management block.</summary>
    public Ich9Pm Pm { get; }

    /// <summary>"apm-io".</summary>
    public ApmControl Apm { get; }

    /// <summary>"lpc-reset-control".</summary>
    public ResetControl ResetControl { get; }

    /// <summary>The hotplug blocks.</summary>
    public AcpiHotplug Hotplug { get; }

    /// <summary>"lpc-rcrb-mmio".</summary>
    public MemoryRegion Rcrb { get; }

    /// <summary>The IRQ PIRQ <paramref name="pirq"/> (0-7 for A-H) is routed to, or -1 when disabled.</summary>
    /// <param name="pirq">0-7.</param>
    public int PirqRoute(int pirq)
    {
        byte v = ConfigBytes[(pirq & 7) < 4 ? PirqAToD + (pirq & 3) : PirqEToH + (pirq & 3)];
        return (v & 0x80) != 0 ? -1 : v & 0x0f;
    }

    /// <summary>Maps the blocks: the PM block at 0 (disabled until ACPI_EN), APM, reset control, hotplug.</summary>
    /// <param name="io">The "io" root.</param>
    public void Map(MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(io);
        using (Machine.System.Transaction())
        {
            io.AddSubregion(ResetControl.Port, ResetControl.Region, 1);
            io.AddSubregion(0xb2, Apm.Region);
            Hotplug.Map(io, 0xcc0, 0xcd8);
            Pm.Block.SetEnabled(false);
            io.AddSubregion(0, Pm.Block);
        }
    }

    /// <inheritdoc/>
    public override void Reset()
    {
        base.Reset();
        ResetDefaults();
        Pm.Reset();
        if (Pm.Block.Container is not null)
        {
            UpdatePm();
            UpdateRcba();
        }
    }

    /// <inheritdoc/>
    protected override void ConfigWritten(int register, int length)
    {
        if (Overlaps(register, length, PmBase, 4) || Overlaps(register, length, AcpiControl, 1))
        {
            UpdatePm();
        }
        if (Overlaps(register, length, Rcba, 4))
        {
            UpdateRcba();
        }
    }

    /// <summary>
    /// After the configuration space and the configuration address: the root complex register block
    /// ("rcrb", 16 KiB), the reset control register, APM, the PM block and the hotplug blocks.
    /// </summary>
    /// <param name="writer">Where the fields go.</param>
    protected override void SaveFunctionState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_rcrbLock)
        {
            writer.WriteBytes("rcrb", _rcrb);
        }
        ResetControl.SaveState(writer);
        Apm.SaveState(writer);
        Pm.SaveState(writer);
        Hotplug.SaveState(writer, "");
    }

    /// <inheritdoc/>
    protected override Action? ReadFunctionState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var rcrb = new byte[_rcrb.Length];
        reader.ReadBytes("rcrb", rcrb);
        Action reset = ResetControl.ReadState(reader);
        Action apm = Apm.ReadState(reader);
        Action pm = Pm.ReadState(reader);
        Action hotplug = Hotplug.ReadState(reader, "");
        return () =>
        {
            lock (_rcrbLock)
            {
                rcrb.CopyTo(_rcrb, 0);
            }
            reset();
            apm();
            pm();
            hotplug();
        };
    }

    private void ResetDefaults()
    {
        BinaryPrimitives.WriteUInt32LittleEndian(ConfigBytes[PmBase..], 1);
        ConfigBytes[AcpiControl] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(ConfigBytes[Rcba..], 0);
        ConfigBytes.Slice(PirqAToD, 4).Fill(0x80);
        ConfigBytes.Slice(PirqEToH, 4).Fill(0x80);
    }

    private void UpdatePm()
    {
        uint bar = BinaryPrimitives.ReadUInt32LittleEndian(ConfigBytes[PmBase..]);
        byte cntl = ConfigBytes[AcpiControl];
        ulong at = (cntl & 0x80) != 0 ? bar & 0xff80 : 0;
        Place(Machine.SystemIo, Pm.Block, at, at != 0, $"PMBASE 0x{bar:x} ACPI_CNTL 0x{cntl:x2}");
    }

    private void UpdateRcba()
    {
        uint rcba = BinaryPrimitives.ReadUInt32LittleEndian(ConfigBytes[Rcba..]);
        ulong next = (rcba & 1) != 0 ? rcba & RcbaMask : ulong.MaxValue;
        if (next == _rcrbAt)
        {
            return;
        }
        using (Machine.System.Transaction())
        {
            if (_rcrbAt != ulong.MaxValue)
            {
                Machine.SystemMemory.RemoveSubregion(Rcrb);
            }
            _rcrbAt = next;
            if (next != ulong.MaxValue)
            {
                Machine.SystemMemory.AddSubregion(next, Rcrb, 1);
            }
            Trace($"RCBA 0x{rcba:x}: '{Rcrb.Name}' {(next == ulong.MaxValue ? "unmapped" : $"mapped at 0x{next:x}")}");
        }
    }
}
