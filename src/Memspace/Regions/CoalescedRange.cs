namespace Memspace.Regions;

/// <summary>A coalesced MMIO range of a region: writes there may be batched by the accelerator.</summary>
/// <param name="Offset">Offset inside the region.</param>
/// <param name="Size">Size in bytes.</param>
public readonly record struct CoalescedRange(ulong Offset, ulong Size);
