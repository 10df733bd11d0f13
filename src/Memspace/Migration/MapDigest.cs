using System.Text;
using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Printing;

namespace Memspace.Migration;

/// <summary>
/// What a machine's memory map is after its state is loaded: the flat views (<c>info mtree -f</c>)
/// and the KVM slots (address space, guest range, read-only or not, the region and offset they show;
/// not the slot number, which depends on history, nor the dirty-logging flag or host address). The
/// source sends its own; the destination compares after loading and names the first line that differs.
/// </summary>
public sealed record MapDigest(string FlatViews, string Slots)
{
    /// <summary>Describes <paramref name="machine"/>'s current map.</summary>
    /// <param name="machine">The machine.</param>
    public static MapDigest Of(Machine machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        string flat = FlatViewPrinter.ToText(machine.System);
        var slots = new StringBuilder();
        if (machine.Kvm is { } kvm)
        {
            foreach ((KvmMemoryListener listener, AddressSpace space) in kvm.SlotListeners)
            {
                foreach (KvmSlot slot in listener.Slots.OrderBy(s => s.StartAddr))
                {
                    string region = space.CurrentMap.Lookup(slot.StartAddr) is { } r ? $"'{r.Region.Name}' +0x{r.OffsetInRegion + (slot.StartAddr - r.Start):x}" : "?";
                    slots.Append($"as {slot.AsId} [0x{slot.StartAddr:x}, 0x{slot.StartAddr + slot.MemorySize:x}) {(slot.ReadOnly ? "ro" : "rw")} {region}\n");
                }
            }
        }
        return new MapDigest(flat, slots.ToString());
    }

    /// <summary>Throws naming the first difference between this (the source's) map and <paramref name="local"/>.</summary>
    /// <param name="local">The destination's map after loading.</param>
    /// <exception cref="MigrationException">They differ.</exception>
    public void CheckMatches(MapDigest local)
    {
        ArgumentNullException.ThrowIfNull(local);
        if (FirstDifference(FlatViews, local.FlatViews) is { } flat)
        {
            throw new MigrationException($"after loading, the destination's memory map (info mtree -f) differs from the source's: {flat}");
        }
        if (FirstDifference(Slots, local.Slots) is { } slots)
        {
            throw new MigrationException($"after loading, the destination's KVM slots differ from the source's: {slots}");
        }
    }

    private static string? FirstDifference(string a, string b)
    {
        if (a == b)
        {
            return null;
        }
        string[] la = a.Split('\n'), lb = b.Split('\n');
        for (int i = 0; i < Math.Max(la.Length, lb.Length); i++)
        {
            string x = i < la.Length ? la[i] : "(nothing)", y = i < lb.Length ? lb[i] : "(nothing)";
            if (x != y)
            {
                return $"line {i + 1}: source \"{x.Trim()}\", destination \"{y.Trim()}\"";
            }
        }
        return "they differ";
    }

    internal void WriteTo(PayloadBuilder b) => b.Blob(Encoding.UTF8.GetBytes(FlatViews)).Blob(Encoding.UTF8.GetBytes(Slots));

    internal static MapDigest ReadFrom(ReadOnlySpan<byte> payload)
    {
        var r = new PayloadReader(payload, "map digest record");
        string flat = Encoding.UTF8.GetString(r.Blob("flat views"));
        string slots = Encoding.UTF8.GetString(r.Blob("slots"));
        r.End();
        return new MapDigest(flat, slots);
    }
}
