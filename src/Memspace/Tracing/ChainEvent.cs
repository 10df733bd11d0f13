namespace Memspace.Tracing;

/// <summary>One step of the chain: when, which structure, who reported it, and what happened.</summary>
/// <param name="Sequence">Position in the timeline, from 1.</param>
/// <param name="Time">Time since the timeline started.</param>
/// <param name="Structure">The structure the step belongs to.</param>
/// <param name="Source">Who reported it: a listener, address space, device or vCPU name.</param>
/// <param name="Payload">What happened, as typed data.</param>
public readonly record struct ChainEvent(long Sequence, TimeSpan Time, ChainStructure Structure, string Source, ChainPayload Payload)
{
    /// <summary>What happened, in QEMU's terms.</summary>
    public string Text => Payload.Describe();

    /// <summary>Name of a structure as the seed thread spells it.</summary>
    /// <param name="structure">The structure.</param>
    public static string StructureName(ChainStructure structure) => structure switch
    {
        ChainStructure.KvmUserspaceMemoryRegion => "kvm_userspace_memory_region",
        ChainStructure.VcpuExit => "vCPU exit",
        _ => structure.ToString(),
    };

    /// <inheritdoc/>
    public override string ToString() => Format(Text);

    /// <summary>The event's line with <paramref name="text"/> in place of its own description.</summary>
    /// <param name="text">What to print as the event's text.</param>
    public string Format(string text)
        => $"{Sequence,5} {Time.TotalMilliseconds,9:F3} ms  {StructureName(Structure),-27} {Source,-14} {text}";
}
