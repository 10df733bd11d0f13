using System.Buffers.Binary;
using Memspace.Interop;

namespace Memspace.Kvm;

/// <summary>
/// The state of one in-kernel device as KVM exchanges it: the bytes of <c>struct kvm_pic_state</c>,
/// <c>struct kvm_ioapic_state</c> or <c>struct kvm_pit_state2</c>, with their fields by kernel name.
/// </summary>
public sealed class KvmChipState
{
    private readonly byte[] _bytes;

    private KvmChipState(string structName, IReadOnlyList<KvmStateField> fields, byte[] bytes)
    {
        StructName = structName;
        Fields = fields;
        _bytes = bytes;
    }

    private static readonly KvmStateField[] Pic = [.. KvmIrqchipLayout.PicFields.Select(f => new KvmStateField(f.Name, f.Offset, f.Size, f.Signed))];
    private static readonly KvmStateField[] Ioapic = [.. KvmIrqchipLayout.IoapicFields.Select(f => new KvmStateField(f.Name, f.Offset, f.Size, f.Signed))];
    private static readonly KvmStateField[] Pit = [.. KvmIrqchipLayout.PitFields.Select(f => new KvmStateField(f.Name, f.Offset, f.Size, f.Signed))];

    /// <summary>A zeroed <c>kvm_pic_state</c> or <c>kvm_ioapic_state</c> for <paramref name="chip"/>.</summary>
    /// <param name="chip">Which chip.</param>
    public static KvmChipState ForIrqchip(KvmIrqchipId chip) => chip switch
    {
        KvmIrqchipId.PicMaster or KvmIrqchipId.PicSlave => new("kvm_pic_state", Pic, new byte[KvmIrqchipLayout.PicStateSize]),
        KvmIrqchipId.Ioapic => new("kvm_ioapic_state", Ioapic, new byte[KvmIrqchipLayout.IoapicStateSize]),
        _ => throw new ArgumentOutOfRangeException(nameof(chip), chip, "KVM has chips 0 (PIC master), 1 (PIC slave) and 2 (IOAPIC)"),
    };

    /// <summary>A zeroed <c>kvm_pit_state2</c>.</summary>
    public static KvmChipState ForPit() => new("kvm_pit_state2", Pit, new byte[KvmIrqchipLayout.PitState2Size]);

    /// <summary>The kernel structure's name.</summary>
    public string StructName { get; }

    /// <summary>Its fields in order (padding and reserved words left out).</summary>
    public IReadOnlyList<KvmStateField> Fields { get; }

    /// <summary>The structure's bytes.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>The field named <paramref name="name"/>.</summary>
    /// <param name="name">Kernel field name.</param>
    /// <exception cref="KeyNotFoundException">No such field.</exception>
    public KvmStateField Field(string name)
        => Fields.FirstOrDefault(f => f.Name == name) ?? throw new KeyNotFoundException($"{StructName} has no field '{name}'");

    /// <summary>The value of <paramref name="field"/> (signed fields as their two's complement bits).</summary>
    /// <param name="field">One of <see cref="Fields"/>.</param>
    public ulong Get(KvmStateField field)
    {
        ArgumentNullException.ThrowIfNull(field);
        ReadOnlySpan<byte> b = _bytes.AsSpan(field.Offset, field.Size);
        return field.Size switch
        {
            1 => b[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(b),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(b),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(b),
        };
    }

    /// <summary>The value of the field named <paramref name="name"/>.</summary>
    /// <param name="name">Kernel field name.</param>
    public ulong this[string name]
    {
        get => Get(Field(name));
        set => Set(Field(name), value);
    }

    /// <summary>Sets <paramref name="field"/> (the value is truncated to the field's width).</summary>
    /// <param name="field">One of <see cref="Fields"/>.</param>
    /// <param name="value">The value.</param>
    public void Set(KvmStateField field, ulong value)
    {
        ArgumentNullException.ThrowIfNull(field);
        Span<byte> b = _bytes.AsSpan(field.Offset, field.Size);
        switch (field.Size)
        {
            case 1: b[0] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)value); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(b, value); break;
        }
    }

    /// <summary>A copy.</summary>
    public KvmChipState Clone() => new(StructName, Fields, (byte[])_bytes.Clone());

    /// <summary>Copies the structure's bytes into <paramref name="destination"/> (which must be at least as long).</summary>
    /// <param name="destination">Receives the bytes.</param>
    internal void CopyTo(Span<byte> destination) => _bytes.CopyTo(destination);

    /// <summary>Replaces the structure's bytes with the start of <paramref name="source"/>.</summary>
    /// <param name="source">At least as many bytes as the structure.</param>
    internal void CopyFrom(ReadOnlySpan<byte> source) => source[.._bytes.Length].CopyTo(_bytes);
}
