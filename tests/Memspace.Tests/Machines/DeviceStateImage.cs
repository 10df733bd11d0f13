using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Machines.State;
using Memspace.Printing;

namespace Memspace.Tests.Machines;

/// <summary>
/// What the migration layer does with device state, for tests: save every registered device in order,
/// load each into the device of the same name of another machine inside one memory transaction, and
/// the topology to compare afterwards.
/// </summary>
internal sealed record DeviceStateImage(IReadOnlyList<(string Name, int Version, byte[] Data)> Devices)
{
    public static DeviceStateImage Save(Machine m)
    {
        Assert.Empty(m.StatelessDevices);
        return new([.. m.StateDevices.Select(d =>
        {
            var w = new DeviceStateWriter();
            d.SaveState(w);
            return (d.StateName, d.StateVersion, w.ToArray());
        })]);
    }

    public byte[] Of(string name) => Devices.Single(d => d.Name == name).Data;

    public void Load(Machine m)
    {
        Assert.Equal(Devices.Select(d => d.Name), m.StateDevices.Select(d => d.StateName));
        using (m.System.Transaction())
        {
            foreach (IDeviceState device in m.StateDevices)
            {
                (string name, int version, byte[] data) = Devices.Single(d => d.Name == device.StateName);
                device.LoadState(new DeviceStateReader(name, version, data));
            }
        }
    }

    public static void AssertSame(DeviceStateImage expected, DeviceStateImage actual)
    {
        Assert.Equal(expected.Devices.Select(d => d.Name), actual.Devices.Select(d => d.Name));
        foreach (((string name, int _, byte[] a), (string _, int _, byte[] b)) in expected.Devices.Zip(actual.Devices))
        {
            Assert.True(a.AsSpan().SequenceEqual(b), $"device '{name}' saves different bytes after the load");
        }
    }

    /// <summary>info mtree (with disabled regions), info mtree -f and the KVM slot table.</summary>
    public static (string Tree, string Flat, string Slots) Topology(Machine m)
    {
        // Slot ids depend on the order slots were freed and reused; the set of slots (address space,
        // range, flags, and which RAM block offset backs them) is what must match.
        var slots = new List<string>();
        if (m.Kvm is { } kvm)
        {
            var printed = new StringWriter();
            KvmSlotTablePrinter.Print(kvm, printed);
            slots.AddRange(printed.ToString().Split('\n').Select(l => System.Text.RegularExpressions.Regex.Replace(l, "^\\s*\\d+\\s+", "")
                .Replace(System.Text.RegularExpressions.Regex.Match(l, "0x0000[0-9a-f]{12}").Value is { Length: > 0 } hva ? hva : "\0", "<hva>")));
            if (kvm.Vm is SimulatedKvmVm vm)
            {
                slots.AddRange(vm.Slots.Values.Select(r => $"as {r.Slot >> 16}: flags 0x{r.Flags:x} gpa 0x{r.GuestPhysAddr:x} size 0x{r.MemorySize:x}"));
            }
        }
        slots.Sort(StringComparer.Ordinal);
        return (MtreePrinter.ToText(m.System, disabled: true), FlatViewPrinter.ToText(m.System), string.Join("\n", slots));
    }
}
