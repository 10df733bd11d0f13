using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The local APIC's MMIO window as QEMU maps it in system memory ("apic-msi", or "kvm-apic-msi" with the
/// in-kernel irqchip): 1 MiB at 0xfee00000 with priority 4096. The vCPU's own APIC accesses never reach
/// it under KVM (the kernel handles them); what does reach it is a device's MSI write, which this
/// model counts and keeps (address, data) without delivering.
/// </summary>
public sealed class ApicMsi : IDeviceState
{
    /// <summary>Its base address.</summary>
    public const ulong DefaultAddress = 0xfee00000;

    /// <summary>Its priority in system memory.</summary>
    public const int Priority = 4096;

    private long _writes;
    private long _last;

    /// <summary>Creates the region.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="inKernel">Named as QEMU names it with KVM's in-kernel irqchip.</param>
    public ApicMsi(MemorySystem system, bool inKernel)
    {
        Region = DeviceRegion.Create(system, inKernel ? "kvm-apic-msi" : "apic-msi", 0x100000, (_, _) => 0, (a, v, _) =>
        {
            Interlocked.Increment(ref _writes);
            Interlocked.Exchange(ref _last, (long)(((a & 0xfffff) << 32) | (v & 0xffff_ffff)));
        }, MemoryRegionOwner.Device(inKernel ? "kvm-apic" : "apic", "/machine/unattached/device[0]/lapic"));
    }

    /// <summary>"apic-msi@0xfee00000".</summary>
    public string StateName => "apic-msi@0xfee00000";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes the MSI count and the last message ("writes", "last"); the window has no register (the local APIC's own state is the vCPU's).</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteI64("writes", Writes);
        writer.WriteU64("last", (ulong)Interlocked.Read(ref _last));
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote.</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        long writes = reader.ReadI64("writes");
        ulong last = reader.ReadU64("last");
        if (writes < 0 || (last >> 52) != 0)
        {
            throw reader.Fail($"MSI count {writes} or last message 0x{last:x} is out of range");
        }
        reader.EnsureEnd();
        Interlocked.Exchange(ref _writes, writes);
        Interlocked.Exchange(ref _last, (long)last);
    }

    /// <summary>"apic-msi"/"kvm-apic-msi".</summary>
    public MemoryRegion Region { get; }

    /// <summary>MSI writes seen.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>The last MSI: offset in the window and data.</summary>
    public (ulong Offset, uint Data) LastMessage
    {
        get
        {
            long v = Interlocked.Read(ref _last);
            return ((ulong)v >> 32, (uint)v);
        }
    }
}
