using Memspace.Machines.Devices;
using Memspace.Regions;

namespace Memspace.Machines;

/// <summary>
/// QEMU 7.2's <c>q35</c> machine (Q35 + ICH9, <c>pc_q35_init</c>), memory-wise: RAM split at
/// 2.75 GiB, or at 2 GiB when RAM reaches 2.75 GiB; "pci" under system memory holding pc.bios,
/// isa-bios and pc.rom; the MCH's SMRAM, TSEG, SMBASE, PAM and MMCONFIG regions.
/// </summary>
public sealed class Q35Machine : X86Machine
{
    internal Q35Machine(MachineOptions options)
        : base("q35", options)
    {
    }

    /// <inheritdoc/>
    public override string Description => "Standard PC (Q35 + ICH9, 2009)";

    /// <summary>The MCH host bridge.</summary>
    public MchHostBridge Mch => (MchHostBridge)HostBridge!;

    /// <inheritdoc/>
    public override MemoryRegion? Smram => Mch.Smram;

    /// <inheritdoc/>
    protected override string RamId => "pc.ram";

    /// <summary><c>pc_q35_init</c>: 0xb0000000 below 4 GiB, or 0x80000000 once RAM reaches 0xb0000000 (the MMCONFIG window sits there).</summary>
    /// <param name="ramSize">Total RAM.</param>
    protected override (ulong Below, ulong Above) SplitRam(ulong ramSize)
    {
        ulong lowmem = ramSize >= 0xb000_0000 ? 0x8000_0000UL : 0xb000_0000UL;
        return ramSize >= lowmem ? (lowmem, ramSize - lowmem) : (ramSize, 0);
    }

    /// <inheritdoc/>
    protected override void InitBoard() => InitPcBoard(() => new MchHostBridge(this), CreateIsaBridge, CreateFunctions);

    /// <summary>The ICH9 LPC bridge at 00:1f.0, or null without platform devices.</summary>
    public Ich9Lpc? Lpc { get; private set; }

    /// <summary>The ICH9 AHCI controller at 00:1f.2, or null.</summary>
    public Ich9Ahci? Ahci { get; private set; }

    /// <summary>The ICH9 SMBus controller at 00:1f.3, or null.</summary>
    public Ich9Smbus? Smbus { get; private set; }

    private void CreateIsaBridge()
    {
        Lpc = new Ich9Lpc(this, smm: Options.Smm && Kvm?.Vm.AddressSpaces > 1);
        Mch.RootBus.Attach(Lpc);
    }

    private void CreateFunctions()
    {
        Lpc!.Map(SystemIo);
        Ahci = new Ich9Ahci(this);
        Mch.RootBus.Attach(Ahci);
        Smbus = new Ich9Smbus(this);
        Mch.RootBus.Attach(Smbus);
    }
}
