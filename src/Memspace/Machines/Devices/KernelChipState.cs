using Memspace.Kvm;
using Memspace.Machines.State;

namespace Memspace.Machines.Devices;

/// <summary>
/// Saved state of a device KVM keeps in the kernel (the "kvm-" PIC, IOAPIC and PIT): every field of
/// the kernel's structure under its kernel name and width, read with <c>KVM_GET_IRQCHIP</c>/<c>KVM_GET_PIT2</c>
/// and written back with the matching set call, after the device has checked the values.
/// </summary>
internal static class KernelChipState
{
    /// <summary>Writes each field of <paramref name="state"/>.</summary>
    /// <param name="writer">Where the fields go.</param>
    /// <param name="state">The kernel's state.</param>
    public static void Save(DeviceStateWriter writer, KvmChipState state)
    {
        foreach (KvmStateField f in state.Fields)
        {
            ulong v = state.Get(f);
            switch (f.Size)
            {
                case 1: writer.WriteU8(f.Name, (byte)v); break;
                case 2: writer.WriteU16(f.Name, (ushort)v); break;
                case 4: writer.WriteU32(f.Name, (uint)v); break;
                default:
                    if (f.Signed)
                    {
                        writer.WriteI64(f.Name, (long)v);
                    }
                    else
                    {
                        writer.WriteU64(f.Name, v);
                    }
                    break;
            }
        }
    }

    /// <summary>Reads the fields <see cref="Save"/> wrote into a copy of <paramref name="template"/> (the destination's current state).</summary>
    /// <param name="reader">Where the fields come from.</param>
    /// <param name="template">The destination's state, for the structure and anything not saved (padding).</param>
    public static KvmChipState Read(DeviceStateReader reader, KvmChipState template)
    {
        KvmChipState state = template.Clone();
        foreach (KvmStateField f in state.Fields)
        {
            ulong v = f.Size switch
            {
                1 => reader.ReadU8(f.Name),
                2 => reader.ReadU16(f.Name),
                4 => reader.ReadU32(f.Name),
                _ => f.Signed ? (ulong)reader.ReadI64(f.Name) : reader.ReadU64(f.Name),
            };
            state.Set(f, v);
        }
        return state;
    }

    /// <summary>Reads "in_kernel" and refuses a state saved by the other kind of chip (in the kernel or in userspace) than this machine's.</summary>
    /// <param name="reader">Where the field comes from.</param>
    /// <param name="inKernelHere">Whether this machine's chip is KVM's in-kernel one.</param>
    /// <param name="chip">The chip's name for messages ("PIT", "PIC", "IOAPIC").</param>
    public static void ReadInKernel(DeviceStateReader reader, bool inKernelHere, string chip)
    {
        bool inKernel = reader.ReadBool("in_kernel");
        if (inKernel != inKernelHere)
        {
            throw reader.Fail(inKernel
                ? $"the state is KVM's in-kernel {chip}, but this machine's {chip} is not in the kernel"
                : $"the state is a userspace {chip}'s, but this machine's {chip} is KVM's in-kernel one");
        }
    }

    /// <summary>Refuses a field above <paramref name="max"/>.</summary>
    /// <param name="reader">For the message.</param>
    /// <param name="state">The state read.</param>
    /// <param name="name">Field name.</param>
    /// <param name="max">Largest value allowed.</param>
    public static void AtMost(DeviceStateReader reader, KvmChipState state, string name, ulong max)
    {
        ulong v = state[name];
        if (v > max)
        {
            throw reader.Fail($"field '{name}' is {v}; at most {max} is allowed");
        }
    }

    /// <summary>Runs a KVM set call, turning the kernel's refusal into a <see cref="DeviceStateException"/>.</summary>
    /// <param name="reader">For the message.</param>
    /// <param name="set">The call.</param>
    public static void Apply(DeviceStateReader reader, Action set)
    {
        try
        {
            set();
        }
        catch (KvmException e)
        {
            throw reader.Fail($"KVM refused the state: {e.Message}");
        }
    }
}
