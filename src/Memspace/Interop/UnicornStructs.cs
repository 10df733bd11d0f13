using System.Runtime.InteropServices;

namespace Memspace.Interop;

/// <summary><c>uc_x86_mmr</c>: a segment or descriptor-table register as Unicorn reads and writes it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct UcX86Mmr
{
    public ushort Selector;
    public ulong Base;
    public uint Limit;
    public uint Flags;
}

/// <summary><c>uc_x86_msr</c>: a model-specific register id and value.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct UcX86Msr
{
    public uint Rid;
    public ulong Value;
}
