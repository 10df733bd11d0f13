namespace Memspace.Machines.Firmware;

/// <summary>
/// The BIOS memory map QEMU hands firmware in fw_cfg's "etc/e820" (QEMU's <c>e820_table</c>): entries of
/// 20 bytes (64-bit address, 64-bit length, 32-bit type, little-endian) in the order QEMU adds them.
/// </summary>
public sealed class E820Table
{
    /// <summary>Usable RAM.</summary>
    public const uint Ram = 1;

    /// <summary>Reserved.</summary>
    public const uint Reserved = 2;

    /// <summary>Where QEMU puts KVM's identity map (and the TSS after it) below the BIOS: 0xfeffc000, 16 KiB reserved.</summary>
    public const ulong KvmIdentityMapAddress = 0xfeffc000;

    /// <summary>AMD's HyperTransport hole QEMU reserves for its AMD-vendor default CPU: [0xfd00000000, 1 TiB).</summary>
    public const ulong AmdHtStart = 0xfd_0000_0000;

    private readonly List<(ulong Address, ulong Length, uint Type)> _entries = [];

    /// <summary>The entries in order.</summary>
    public IReadOnlyList<(ulong Address, ulong Length, uint Type)> Entries => _entries;

    /// <summary>
    /// The table QEMU 7.2 builds for an x86 board: the KVM identity-map reservation first (added at
    /// accelerator init, before the board), RAM below 4 GiB, RAM above 4 GiB, then the AMD
    /// HyperTransport hole.
    /// </summary>
    /// <param name="below4g">RAM below 4 GiB.</param>
    /// <param name="above4g">RAM above 4 GiB.</param>
    /// <param name="kvm">Whether the accelerator is KVM (QEMU reserves the identity map then).</param>
    public static E820Table ForPc(ulong below4g, ulong above4g, bool kvm)
    {
        var t = new E820Table();
        if (kvm)
        {
            t.Add(KvmIdentityMapAddress, 0x4000, Reserved);
        }
        t.Add(0, below4g, Ram);
        if (above4g > 0)
        {
            t.Add(1UL << 32, above4g, Ram);
        }
        t.Add(AmdHtStart, (1UL << 40) - AmdHtStart, Reserved);
        return t;
    }

    /// <summary>Appends an entry.</summary>
    /// <param name="address">Start.</param>
    /// <param name="length">Length.</param>
    /// <param name="type">Type.</param>
    public void Add(ulong address, ulong length, uint type) => _entries.Add((address, length, type));

    /// <summary>The "etc/e820" bytes.</summary>
    public byte[] ToBytes()
    {
        var b = new byte[20 * _entries.Count];
        for (int i = 0; i < _entries.Count; i++)
        {
            BitConverter.TryWriteBytes(b.AsSpan(20 * i), _entries[i].Address);
            BitConverter.TryWriteBytes(b.AsSpan((20 * i) + 8), _entries[i].Length);
            BitConverter.TryWriteBytes(b.AsSpan((20 * i) + 16), _entries[i].Type);
        }
        return b;
    }
}
