namespace Memspace.Vcpus;

/// <summary>A segment register with its hidden descriptor cache (what <c>struct kvm_segment</c> holds).</summary>
public record struct X86Segment
{
    /// <summary>Linear base address.</summary>
    public ulong Base;

    /// <summary>Limit in bytes minus one (already scaled by the granularity bit).</summary>
    public uint Limit;

    /// <summary>The selector.</summary>
    public ushort Selector;

    /// <summary>Descriptor type (4 bits).</summary>
    public byte Type;

    /// <summary>Present.</summary>
    public bool Present;

    /// <summary>Descriptor privilege level.</summary>
    public byte Dpl;

    /// <summary>Default operation size (1: 32-bit).</summary>
    public bool Db;

    /// <summary>Code or data (1), rather than system.</summary>
    public bool S;

    /// <summary>64-bit code segment.</summary>
    public bool L;

    /// <summary>Granularity (limit counted in 4 KiB units).</summary>
    public bool G;

    /// <summary>Available to software.</summary>
    public bool Avl;

    /// <summary>Unusable (a null selector loaded in protected mode).</summary>
    public bool Unusable;

    /// <summary>A real-mode segment at <paramref name="selector"/> × 16 with a 64 KiB limit.</summary>
    /// <param name="selector">The selector (the paragraph number).</param>
    /// <param name="code">Whether it is the code segment (type 0xb) or data (type 3).</param>
    public static X86Segment RealMode(ushort selector, bool code) => new()
    {
        Base = (ulong)selector << 4,
        Limit = 0xffff,
        Selector = selector,
        Type = code ? (byte)0xb : (byte)3,
        Present = true,
        S = true,
    };
}
