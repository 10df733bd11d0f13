using Memspace.Regions;

namespace Memspace.Machines;

/// <summary>
/// QEMU 7.2's <c>microvm</c> machine, memory-wise: RAM split at 3 GiB when larger; no PCI, so the
/// firmware (64 KiB, left writable as QEMU does for microvm) and its "isa-bios" alias go straight
/// into system memory; no PAM or SMRAM.
/// </summary>
public sealed class MicrovmMachine : X86Machine
{
    internal MicrovmMachine(MachineOptions options)
        : base("microvm", options)
    {
    }

    /// <inheritdoc/>
    public override string Description => "microvm (i386)";

    /// <inheritdoc/>
    protected override string RamId => "microvm.ram";

    /// <inheritdoc/>
    protected override int DefaultFirmwareSize => 64 * 1024;

    /// <inheritdoc/>
    protected override ulong AcpiTablesSize => 0x1000;

    /// <summary><c>microvm_memory_init</c>: 3 GiB below 4 GiB when RAM is larger than that.</summary>
    /// <param name="ramSize">Total RAM.</param>
    protected override (ulong Below, ulong Above) SplitRam(ulong ramSize)
    {
        const ulong lowmem = 0xc000_0000;
        return ramSize > lowmem ? (lowmem, ramSize - lowmem) : (ramSize, 0);
    }

    /// <inheritdoc/>
    protected override void InitBoard()
    {
        CreateRamBackend();
        MapRam();
        CreateCpuAddressSpaces();
        AddMemspaceDevices();
        InitBios(SystemMemory, ramFirmware: true);
    }
}
