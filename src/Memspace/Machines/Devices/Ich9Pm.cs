using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The ICH9 power-management I/O block ("ich9-pm", 128 bytes, QEMU's <c>ICH9LPCPMRegs</c>), which the
/// LPC bridge places at PMBASE: PM1 event/control/timer at 0x00-0x0b, "acpi-gpe0" (16 bytes) at 0x20,
/// "acpi-smi" (SMI_EN at 0x30, SMI_STS at 0x34) and the TCO watchdog "sm-tco" at 0x60. Without SMM,
/// SMI_EN has APMC_EN (bit 5) preset, which tells firmware SMM needs no setting up.
/// </summary>
public sealed class Ich9Pm
{
    /// <summary>SMI_EN's APMC_EN bit.</summary>
    public const uint ApmcEn = 1 << 5;

    private readonly Lock _lock = new();
    private readonly bool _smm;
    private uint _smiEnable, _smiStatus;

    /// <summary>Creates the block and its registers.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="smm">Whether SMM is available.</param>
    /// <param name="owner">The LPC bridge.</param>
    /// <param name="clock">Host time in nanoseconds for the PM timer; null for the monotonic clock.</param>
    public Ich9Pm(MemorySystem system, bool smm, MemoryRegionOwner? owner = null, Func<long>? clock = null)
    {
        _smm = smm;
        Block = MemoryRegion.CreateContainer(system, "ich9-pm", 0x80, owner);
        Pm = new AcpiPmRegisters(system, Block, owner, clock);
        Gpe = new AcpiGpe(system, 16, owner);
        Block.AddSubregion(0x20, Gpe.Region);
        Smi = DeviceRegion.Create(system, "acpi-smi", 8, (a, s) => ReadSmi(a, s), (a, v, s) => WriteSmi(a, v, s), owner);
        Block.AddSubregion(0x30, Smi);
        Tco = new TcoRegisters(system, owner);
        Block.AddSubregion(0x60, Tco.Region);
        Reset();
    }

    /// <summary>"ich9-pm".</summary>
    public MemoryRegion Block { get; }

    /// <summary>PM1 event/control and PM timer.</summary>
    public AcpiPmRegisters Pm { get; }

    /// <summary>"acpi-gpe0".</summary>
    public AcpiGpe Gpe { get; }

    /// <summary>"acpi-smi".</summary>
    public MemoryRegion Smi { get; }

    /// <summary>"sm-tco".</summary>
    public TcoRegisters Tco { get; }

    /// <summary>SMI_EN.</summary>
    public uint SmiEnable { get { lock (_lock) { return _smiEnable; } } }

    /// <summary>Reset values.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _smiEnable = _smm ? 0 : ApmcEn;
            _smiStatus = 0;
        }
        Pm.Reset();
        Tco.Reset();
    }

    /// <summary>Writes PM1, SMI_EN/SMI_STS, GPE0 and TCO, prefixed "pm.".</summary>
    /// <param name="writer">Where the fields go.</param>
    internal void SaveState(DeviceStateWriter writer)
    {
        Pm.SaveState(writer, "pm.pm1.");
        lock (_lock)
        {
            writer.WriteU32("pm.smi_en", _smiEnable);
            writer.WriteU32("pm.smi_sts", _smiStatus);
        }
        Gpe.SaveState(writer, "pm.");
        Tco.SaveState(writer, "pm.");
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote; returns what applies it.</summary>
    /// <param name="reader">Where the fields come from.</param>
    internal Action ReadState(DeviceStateReader reader)
    {
        Action pm = Pm.ReadState(reader, "pm.pm1.");
        uint enable = reader.ReadU32("pm.smi_en");
        uint status = reader.ReadU32("pm.smi_sts");
        Action gpe = Gpe.ReadState(reader, "pm.");
        Action tco = Tco.ReadState(reader, "pm.");
        return () =>
        {
            pm();
            lock (_lock)
            {
                _smiEnable = enable;
                _smiStatus = status;
            }
            gpe();
            tco();
        };
    }

    private ulong ReadSmi(ulong offset, uint size)
    {
        lock (_lock)
        {
            byte[] b = [.. BitConverter.GetBytes(_smiEnable), .. BitConverter.GetBytes(_smiStatus)];
            return DeviceRegion.ReadLe(b, offset, size);
        }
    }

    private void WriteSmi(ulong offset, ulong value, uint size)
    {
        lock (_lock)
        {
            byte[] b = [.. BitConverter.GetBytes(_smiEnable), .. BitConverter.GetBytes(_smiStatus)];
            byte[] w = new byte[8];
            DeviceRegion.WriteLe(w, [], offset, value, size);
            DeviceRegion.WriteLe(b, [], offset, value, size);
            _smiEnable = BitConverter.ToUInt32(b);
            if (offset + size > 4)
            {
                _smiStatus &= ~BitConverter.ToUInt32(w, 4); // SMI_STS: write 1 to clear
            }
        }
    }
}
