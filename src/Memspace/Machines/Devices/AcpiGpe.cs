using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// An ACPI general-purpose event block ("acpi-gpe0", QEMU's <c>acpi_gpe_ioport_*</c>): the first half of
/// its bytes are status (write 1 to clear), the second half enable.
/// </summary>
public sealed class AcpiGpe
{
    private readonly Lock _lock = new();
    private readonly byte[] _bytes;

    /// <summary>Creates the block.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="length">Block length in bytes (4 on PIIX4, 16 on ICH9).</param>
    /// <param name="owner">Owning function.</param>
    public AcpiGpe(MemorySystem system, int length, MemoryRegionOwner? owner = null)
    {
        _bytes = new byte[length];
        Region = DeviceRegion.Create(system, "acpi-gpe0", (ulong)length, (a, s) => { lock (_lock) { return DeviceRegion.ReadLe(_bytes, a, s); } }, Write, owner, 1);
    }

    /// <summary>"acpi-gpe0".</summary>
    public MemoryRegion Region { get; }

    /// <summary>Status byte <paramref name="index"/>.</summary>
    /// <param name="index">0 to half the length - 1.</param>
    public byte Status(int index) { lock (_lock) { return _bytes[index]; } }

    /// <summary>Enable byte <paramref name="index"/>.</summary>
    /// <param name="index">0 to half the length - 1.</param>
    public byte Enable(int index) { lock (_lock) { return _bytes[(_bytes.Length / 2) + index]; } }

    /// <summary>Sets status bits (an event happened).</summary>
    /// <param name="index">Status byte.</param>
    /// <param name="bits">Bits to set.</param>
    public void Raise(int index, byte bits) { lock (_lock) { _bytes[index] |= bits; } }

    /// <summary>Writes the status and enable bytes as one field ("gpe0" after <paramref name="prefix"/>).</summary>
    /// <param name="writer">Where the fields go.</param>
    /// <param name="prefix">Field name prefix.</param>
    internal void SaveState(DeviceStateWriter writer, string prefix)
    {
        lock (_lock)
        {
            writer.WriteBytes(prefix + "gpe0", _bytes);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote (exactly this block's length); returns what applies it.</summary>
    /// <param name="reader">Where the fields come from.</param>
    /// <param name="prefix">Field name prefix.</param>
    internal Action ReadState(DeviceStateReader reader, string prefix)
    {
        var bytes = new byte[_bytes.Length];
        reader.ReadBytes(prefix + "gpe0", bytes);
        return () => { lock (_lock) { bytes.CopyTo(_bytes, 0); } };
    }

    private void Write(ulong offset, ulong value, uint size)
    {
        lock (_lock)
        {
            int half = _bytes.Length / 2;
            if (offset < (ulong)half)
            {
                _bytes[offset] &= (byte)~value;
            }
            else if (offset < (ulong)_bytes.Length)
            {
                _bytes[offset] = (byte)value;
            }
            _ = size;
        }
    }
}
