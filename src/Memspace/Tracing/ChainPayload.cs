using System.Globalization;
using Memspace.Kvm;
using Memspace.Unicorn;
using Memspace.Vcpus;

namespace Memspace.Tracing;

/// <summary>
/// What a <see cref="ChainEvent"/> records, as typed data: one record type per kind of step, each able
/// to describe itself in QEMU's terms (<see cref="Describe"/>). Consumers switch on the type instead of
/// parsing text.
/// </summary>
public abstract record ChainPayload
{
    /// <summary>A one-line description in QEMU's terms (trace-event names, callback names).</summary>
    public abstract string Describe();
}

/// <summary>A free-form step: machine construction phases and device notes.</summary>
/// <param name="Text">What happened.</param>
public sealed record NoteEvent(string Text) : ChainPayload
{
    /// <inheritdoc/>
    public override string Describe() => Text;
}

/// <summary>A region was mapped, unmapped, moved, enabled or disabled.</summary>
/// <param name="Region">The region's name.</param>
/// <param name="Operation">QEMU's function, for example <c>memory_region_set_enabled</c>.</param>
/// <param name="Text">The whole call as QEMU would name it, with its arguments.</param>
public sealed record RegionChangeEvent(string Region, string Operation, string Text) : ChainPayload
{
    /// <inheritdoc/>
    public override string Describe() => Text;
}

/// <summary>A listener callback with its section (<c>region_add</c>, <c>region_del</c>, <c>log_start</c>, <c>log_stop</c>).</summary>
/// <param name="AddressSpace">The address space whose listener was called.</param>
/// <param name="Callback">The callback.</param>
/// <param name="Start">First guest address of the section.</param>
/// <param name="End">One past its last address.</param>
/// <param name="Kind">"ram", "rom", "romd" or "i/o", as <c>info mtree -f</c> calls it.</param>
/// <param name="Region">The region that serves it.</param>
/// <param name="OffsetInRegion">Offset of the section's first byte in the region.</param>
/// <param name="OldLogMask">Dirty-log mask before, for <c>log_start</c>/<c>log_stop</c>.</param>
/// <param name="NewLogMask">Dirty-log mask after, for <c>log_start</c>/<c>log_stop</c>.</param>
public sealed record SectionEvent(
    string AddressSpace, string Callback, ulong Start, UInt128 End, string Kind, string Region, ulong OffsetInRegion,
    byte? OldLogMask = null, byte? NewLogMask = null) : ChainPayload
{
    /// <inheritdoc/>
    public override string Describe()
        => $"{Callback}{(OldLogMask is { } o ? $" 0x{o:x}->0x{NewLogMask:x}" : "")} [0x{Start:x}, 0x{End:x}) {Kind} '{Region}' +0x{OffsetInRegion:x}";
}

/// <summary>One view an address space uses after a commit.</summary>
/// <param name="AddressSpaces">The address spaces that share it.</param>
/// <param name="Generation">The view's generation.</param>
/// <param name="Root">The region it was rendered from, or "(none)".</param>
/// <param name="Ranges">Its number of flat ranges.</param>
public sealed record RenderedView(IReadOnlyList<string> AddressSpaces, long Generation, string Root, int Ranges);

/// <summary>A commit rendered new views (<c>FlatView</c>).</summary>
/// <param name="Commit">The commit's number.</param>
/// <param name="Views">Each view in use, with the address spaces that share it.</param>
public sealed record CommitEvent(long Commit, IReadOnlyList<RenderedView> Views) : ChainPayload
{
    /// <inheritdoc/>
    public override string Describe()
        => $"commit #{Commit} rendered: {string.Join("; ", Views.Select(v => $"{string.Join(",", v.AddressSpaces)} -> gen {v.Generation} '{v.Root}' {v.Ranges} FlatRanges"))}";
}

/// <summary>An address space was created.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Root">Its root region.</param>
public sealed record AddressSpaceEvent(string Name, string Root) : ChainPayload
{
    /// <inheritdoc/>
    public override string Describe() => $"address_space_init \"{Name}\" rooted at '{Root}'";
}

/// <summary>A RAMBlock joined the RAM list (<c>ram_block_add</c>) or left it.</summary>
/// <param name="IdStr">The block's id.</param>
/// <param name="Added">Joined (true) or left.</param>
/// <param name="Offset">Its ram_addr offset.</param>
/// <param name="UsedLength">Bytes in use.</param>
/// <param name="MaxLength">Bytes reserved.</param>
/// <param name="Host">Host address of its first byte (0 without host memory).</param>
public sealed record RamBlockEvent(string IdStr, bool Added, ulong Offset, ulong UsedLength, ulong MaxLength, ulong Host) : ChainPayload
{
    /// <inheritdoc/>
    public override string Describe() => Added
        ? $"ram_block_add '{IdStr}' at ram_addr 0x{Offset:x}, used 0x{UsedLength:x} of 0x{MaxLength:x}, host 0x{Host:x}"
        : $"'{IdStr}' left the list";
}

/// <summary>A <c>KVM_SET_USER_MEMORY_REGION</c> ioctl (<c>struct kvm_userspace_memory_region</c>).</summary>
/// <param name="Ioctl">The call as QEMU traces it.</param>
public sealed record SlotIoctlEvent(KvmSlotEvent Ioctl) : AcceleratorMappingEvent
{
    /// <inheritdoc/>
    public override string Call => "KVM_SET_USER_MEMORY_REGION";

    /// <inheritdoc/>
    public override string Mapping => $"Slot#{Ioctl.Slot}";

    /// <inheritdoc/>
    public override ulong Start => Ioctl.Gpa;

    /// <inheritdoc/>
    public override ulong Size => Ioctl.Size;

    /// <inheritdoc/>
    public override string Describe() => Ioctl.ToString();
}

/// <summary>A KVM slot was set or freed (<c>KVMSlot</c>).</summary>
/// <param name="Slot">Slot id with the address-space id in bits 16 and up.</param>
/// <param name="Start">Guest-physical start (the old one when freed).</param>
/// <param name="Size">Size, 0 when freed.</param>
/// <param name="Flags">Slot flags.</param>
public sealed record SlotEvent(uint Slot, ulong Start, ulong Size, uint Flags) : ChainPayload
{
    /// <inheritdoc/>
    public override string Describe() => Size == 0
        ? $"KVMSlot #{Slot} freed"
        : string.Create(CultureInfo.InvariantCulture, $"KVMSlot #{Slot} = [0x{Start:x}, 0x{Start + Size:x}) flags 0x{Flags:x}");
}

/// <summary>A vCPU exit and how the address spaces served it.</summary>
/// <param name="Vcpu">The vCPU's index.</param>
/// <param name="Exit">The exit.</param>
/// <param name="AddressSpace">The address space that served it (I/O or memory), or null.</param>
/// <param name="Region">The region at the exit's address, or null when nothing is mapped there or no address space served it.</param>
public sealed record VcpuExitEvent(int Vcpu, VcpuExit Exit, string? AddressSpace, string? Region) : ChainPayload
{
    /// <inheritdoc/>
    public override string Describe()
        => Exit + (AddressSpace is null ? "" : Region is null ? $" [AS \"{AddressSpace}\": unassigned]" : $" [AS \"{AddressSpace}\" -> '{Region}']");
}

/// <summary>A change of Unicorn's memory map, the counterpart of <see cref="SlotIoctlEvent"/>.</summary>
/// <param name="Change">The call as Memspace traces it.</param>
public sealed record UnicornMapChangeEvent(UnicornMapEvent Change) : AcceleratorMappingEvent
{
    /// <inheritdoc/>
    public override string Call => Change.Call;

    /// <inheritdoc/>
    public override string Mapping => $"'{Change.Region}' at 0x{Change.Gpa:x}";

    /// <inheritdoc/>
    public override ulong Start => Change.Gpa;

    /// <inheritdoc/>
    public override ulong Size => Change.Call == "uc_mem_unmap" ? 0 : Change.Size;

    /// <inheritdoc/>
    public override string Describe() => Change.ToString();
}
