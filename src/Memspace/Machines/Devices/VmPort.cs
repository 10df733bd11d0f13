using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// VMware's backdoor port 0x5658 ("vmport", QEMU's <c>vmport</c>). The backdoor protocol passes its
/// arguments in the vCPU's registers, which a port region does not see, so this model answers every
/// read with all ones (no command recognised) and ignores writes; the region is there so that the map
/// is QEMU's.
/// </summary>
public sealed class VmPort
{
    /// <summary>Its port.</summary>
    public const ushort Port = 0x5658;

    /// <summary>Creates the port.</summary>
    /// <param name="system">The memory system.</param>
    public VmPort(MemorySystem system)
    {
        Region = DeviceRegion.Create(system, "vmport", 1, (_, _) => uint.MaxValue, (_, _, _) => { },
            MemoryRegionOwner.Device("vmport", "/machine/unattached/device[vmport]"));
    }

    /// <summary>"vmport".</summary>
    public MemoryRegion Region { get; }
}
