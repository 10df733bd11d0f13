using Memspace.Machines.Devices;
using Memspace.Regions;

namespace Memspace.Machines;

/// <summary>
/// QEMU 7.2's <c>pc</c> machine (i440FX + PIIX, <c>pc_init1</c>), memory-wise: RAM split at 3.5 GiB,
/// or at 3 GiB when RAM reaches 3.5 GiB (gigabyte alignment); "pci" under system memory holding
/// pc.bios, isa-bios and pc.rom; the i440FX's SMRAM window and PAM segments.
/// </summary>
public sealed class PcMachine : X86Machine
{
    internal PcMachine(MachineOptions options)
        : base("pc", options)
    {
    }

    /// <inheritdoc/>
    public override string Description => "Standard PC (i440FX + PIIX, 1996)";

    /// <summary>The i440FX host bridge.</summary>
    public I440fxHostBridge I440fx => (I440fxHostBridge)HostBridge!;

    /// <inheritdoc/>
    public override MemoryRegion? Smram => I440fx.Smram;

    /// <inheritdoc/>
    protected override string RamId => "pc.ram";

    /// <summary>
    /// <c>pc_init1</c>: max-ram-below-4g defaults to 3.5 GiB; if RAM is at least that, gigabyte
    /// alignment lowers the split to 3 GiB.
    /// </summary>
    /// <param name="ramSize">Total RAM.</param>
    protected override (ulong Below, ulong Above) SplitRam(ulong ramSize)
    {
        ulong lowmem = 0xe000_0000;
        if (ramSize >= lowmem)
        {
            lowmem = 0xc000_0000;
        }
        return ramSize >= lowmem ? (lowmem, ramSize - lowmem) : (ramSize, 0);
    }

    /// <inheritdoc/>
    protected override void InitBoard() => InitPcBoard(() => new I440fxHostBridge(this), CreateIsaBridge, CreateFunctions);

    /// <summary>The PIIX3 ISA bridge at 00:01.0, or null without platform devices.</summary>
    public Piix3? Piix3 { get; private set; }

    /// <summary>The PIIX3 IDE function at 00:01.1, or null.</summary>
    public PiixIde? Ide { get; private set; }

    /// <summary>The PIIX4 power-management function at 00:01.3, or null.</summary>
    public Piix4Pm? Pm { get; private set; }

    /// <summary>The ISA floppy controller, or null.</summary>
    public FloppyController? Floppy { get; private set; }

    /// <inheritdoc/>
    protected override IEnumerable<State.IDeviceState> BoardDeviceStates() => Floppy is { } fdc ? [fdc] : [];

    private void CreateIsaBridge()
    {
        Piix3 = new Piix3(this);
        I440fx.RootBus.Attach(Piix3);
        Piix3.MapResetControl();
    }

    private void CreateFunctions()
    {
        Floppy = new FloppyController(System);
        Floppy.Map(SystemIo);
        Ide = new PiixIde(this);
        I440fx.RootBus.Attach(Ide);
        Ide.MapLegacyPorts(SystemIo);
        Pm = new Piix4Pm(this, smm: Options.Smm && Kvm?.Vm.AddressSpaces > 1);
        I440fx.RootBus.Attach(Pm);
        Pm.Map(SystemIo);
    }
}
