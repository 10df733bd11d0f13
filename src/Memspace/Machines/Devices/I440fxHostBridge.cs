using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The i440FX host bridge of the <c>pc</c> machine (QEMU's <c>i440fx_init</c>): maps the PCI address
/// space under system memory, the legacy SMRAM window "smram-region", the SMM view "smram" with
/// "smram-low", and 13 PAM segments, all driven by its configuration registers PAM (0x59-0x5f) and
/// SMRAM (0x72).
/// </summary>
public sealed class I440fxHostBridge : PciHostBridge
{
    /// <summary>First PAM register.</summary>
    public const int PamRegister = 0x59;

    /// <summary>SMRAM control register.</summary>
    public const int SmramRegister = 0x72;

    private const byte SmramDOpen = 1 << 6;
    private const byte SmramGSmrame = 1 << 3;
    private readonly Pam[] _pams = new Pam[Pam.Count];

    /// <summary>Creates the bridge and maps everything (QEMU's order), then applies the registers.</summary>
    /// <param name="machine">The pc machine.</param>
    public I440fxHostBridge(X86Machine machine)
        : base(machine, "i440FX", PciIds.I440fx, machine?.PciMemory ?? throw new InvalidOperationException("i440FX needs the PCI address space"))
    {
        MemorySystem s = machine.System;
        MemoryRegion pci = machine.PciMemory ?? throw new InvalidOperationException("i440FX needs the PCI address space");
        var owner = MemoryRegionOwner.Device("i440FX", "/machine/i440fx/pci.0/i440FX", devicePath: "0000:00:00.0");
        MapConfigPorts(machine.SystemIo);
        ConfigBytes[SmramRegister] = 0x02;
        // pc_pci_as_mapping_init: PCI below RAM.
        machine.SystemMemory.AddSubregion(0, pci, -1);
        SmramRegion = MemoryRegion.CreateAlias(s, "smram-region", pci, 0xa0000, 0x20000, owner);
        machine.SystemMemory.AddSubregion(0xa0000, SmramRegion, 1);
        SmramRegion.SetEnabled(true);
        Smram = MemoryRegion.CreateContainer(s, "smram", 1UL << 32, owner);
        Smram.SetEnabled(true);
        LowSmram = MemoryRegion.CreateAlias(s, "smram-low", machine.Ram, 0xa0000, 0x20000, owner);
        LowSmram.SetEnabled(true);
        Smram.AddSubregion(0xa0000, LowSmram);
        for (int i = 0; i < Pam.Count; i++)
        {
            (uint start, uint size) = Pam.Segment(i);
            _pams[i] = new Pam(s, owner, machine.Ram, machine.SystemMemory, pci, start, size);
        }
        ConfigBytes[0x57] = (byte)Math.Min(255, machine.Options.RamSize / 8 / 1024 / 1024);
        UpdateMemoryMappings();
    }

    /// <summary>"smram-region": the legacy VGA window as non-SMM code sees it while SMRAM is closed.</summary>
    public MemoryRegion SmramRegion { get; }

    /// <summary>"smram": what SMM code sees on top of normal memory (QEMU's <c>/machine/smram</c>).</summary>
    public MemoryRegion Smram { get; }

    /// <summary>"smram-low": RAM at 0xa0000 inside <see cref="Smram"/>.</summary>
    public MemoryRegion LowSmram { get; }

    /// <summary>The PAM segments.</summary>
    public IReadOnlyList<Pam> Pams => _pams;

    /// <summary>i440FX has no reset handler in QEMU 7.2: PAM and SMRAM keep their values across a system reset (only the generic PCI registers are reset).</summary>
    public override void Reset() => base.Reset();

    /// <inheritdoc/>
    protected override void ConfigWritten(int register, int length)
    {
        if (Overlaps(register, length, PamRegister, 7) || Overlaps(register, length, SmramRegister, 1))
        {
            UpdateMemoryMappings();
        }
    }

    private void UpdateMemoryMappings()
    {
        using (Machine.System.Transaction())
        {
            Pam.UpdateAll(_pams, ConfigBytes, PamRegister, Machine.System, Trace);
            byte smram = ConfigBytes[SmramRegister];
            SetEnabled(SmramRegion, (smram & SmramDOpen) == 0, $"SMRAM 0x{smram:x2}");
            SetEnabled(Smram, (smram & SmramGSmrame) != 0, $"SMRAM 0x{smram:x2}");
        }
    }

}
