using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// One Programmable Attribute Map segment (QEMU's <c>PAMMemoryRegion</c>): four aliases at the same
/// address in system memory, one per attribute value, of which the register enables exactly one.
/// 0: "pam-pci" to the PCI address space (reads and writes go to PCI); 1: "pam-rom", read-only RAM;
/// 2: "pam-pci" to RAM (write-only in hardware; QEMU approximates it by RAM); 3: "pam-ram".
/// </summary>
public sealed class Pam
{
    private readonly MemoryRegion[] _alias = new MemoryRegion[4];

    /// <summary>QEMU's <c>init_pam</c>: creates the four aliases, disabled, at priority 1.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="owner">The host bridge.</param>
    /// <param name="ram">The RAM backend ("pc.ram").</param>
    /// <param name="systemMemory">Where the aliases are mapped.</param>
    /// <param name="pci">The PCI address space.</param>
    /// <param name="start">Segment address.</param>
    /// <param name="size">Segment size.</param>
    public Pam(MemorySystem system, MemoryRegionOwner owner, MemoryRegion ram, MemoryRegion systemMemory, MemoryRegion pci, uint start, uint size)
    {
        Start = start;
        Size = size;
        _alias[3] = MemoryRegion.CreateAlias(system, "pam-ram", ram, start, size, owner);
        _alias[1] = MemoryRegion.CreateAlias(system, "pam-rom", ram, start, size, owner);
        _alias[1].SetReadOnly(true);
        _alias[0] = MemoryRegion.CreateAlias(system, "pam-pci", pci, start, size, owner);
        _alias[2] = MemoryRegion.CreateAlias(system, "pam-pci", ram, start, size, owner);
        using (system.Transaction())
        {
            for (int i = 0; i < 4; i++)
            {
                _alias[i].SetEnabled(false);
                systemMemory.AddSubregion(start, _alias[i], 1);
            }
        }
    }

    /// <summary>Segment address.</summary>
    public uint Start { get; }

    /// <summary>Segment size.</summary>
    public uint Size { get; }

    /// <summary>The attribute value in force (0-3).</summary>
    public int Current { get; private set; }

    /// <summary>The alias for attribute value <paramref name="attribute"/>.</summary>
    /// <param name="attribute">0-3.</param>
    public MemoryRegion Alias(int attribute) => _alias[attribute];

    /// <summary>
    /// QEMU's <c>pam_update</c>: segment <paramref name="index"/> takes its two bits from register
    /// value <paramref name="value"/> (high nibble for even segments, low for odd). Returns whether
    /// the attribute changed.
    /// </summary>
    /// <param name="index">Segment index 0-12 (0 is 0xf0000, 1-12 are 0xc0000 + 16 KiB steps).</param>
    /// <param name="value">The PAM register byte that holds the segment.</param>
    public bool Update(int index, byte value)
    {
        int next = (value >> ((index & 1) == 0 ? 4 : 0)) & 3;
        bool changed = next != Current || !_alias[next].Enabled;
        _alias[Current].SetEnabled(false);
        Current = next;
        _alias[Current].SetEnabled(true);
        return changed;
    }

    /// <summary>
    /// Applies the seven PAM registers from <paramref name="firstRegister"/> to all segments (one
    /// transaction), reporting each segment whose attribute changed.
    /// </summary>
    /// <param name="pams">The 13 segments.</param>
    /// <param name="config">The host bridge's configuration space.</param>
    /// <param name="firstRegister">Offset of the first PAM register.</param>
    /// <param name="system">The memory system.</param>
    /// <param name="changed">Receives a description of each change.</param>
    public static void UpdateAll(IReadOnlyList<Pam> pams, ReadOnlySpan<byte> config, int firstRegister, MemorySystem system, Action<string> changed)
    {
        ArgumentNullException.ThrowIfNull(pams);
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(changed);
        using (system.Transaction())
        {
            for (int i = 0; i < pams.Count; i++)
            {
                int reg = firstRegister + ((i + 1) / 2);
                if (pams[i].Update(i, config[reg]))
                {
                    changed($"PAM register 0x{reg:x} = 0x{config[reg]:x2}: [0x{pams[i].Start:x}, 0x{pams[i].Start + pams[i].Size:x}) -> {Describe(pams[i].Current)}");
                }
            }
        }
    }

    /// <summary>Human name of an attribute value.</summary>
    /// <param name="attribute">0-3.</param>
    public static string Describe(int attribute) => attribute switch
    {
        0 => "PCI (pam-pci @pci)",
        1 => "read-only RAM (pam-rom)",
        2 => "write-only RAM (pam-pci @pc.ram)",
        _ => "RAM (pam-ram)",
    };

    /// <summary>The 13 PAM segments: index 0 is the BIOS area 0xf0000 (64 KiB), 1-12 are 16 KiB from 0xc0000.</summary>
    public static (uint Start, uint Size) Segment(int index)
        => index == 0 ? (0xf0000u, 0x10000u) : (0xc0000u + ((uint)(index - 1) * 0x4000u), 0x4000u);

    /// <summary>Number of segments.</summary>
    public const int Count = 13;
}
