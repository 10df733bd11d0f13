using Memspace.Machines;
using Memspace.Machines.State;
using Memspace.Ram;

namespace Memspace.Migration;

/// <summary>
/// What a stream or snapshot says about the machine it comes from: machine type, build options, RAM
/// size, the RAMBlocks, the vCPUs and the devices whose state it carries. A destination builds the same
/// machine, describes it the same way, and refuses the stream when the two differ (<see cref="CheckMatches"/>).
/// </summary>
public sealed record MigrationHeader
{
    /// <summary>Machine type ("pc", "q35", "microvm").</summary>
    public required string Machine { get; init; }

    /// <summary>The build options that shape the machine, as "name=value" words.</summary>
    public required string Options { get; init; }

    /// <summary>Guest RAM in bytes (<c>-m</c>).</summary>
    public required ulong RamSize { get; init; }

    /// <summary>Target page size the page records use.</summary>
    public required ulong PageSize { get; init; }

    /// <summary>Every migratable RAMBlock with host memory, in RAMList order.</summary>
    public required IReadOnlyList<MigrationBlock> Blocks { get; init; }

    /// <summary>Number of vCPUs.</summary>
    public required int VcpuCount { get; init; }

    /// <summary>Which accelerator wrote the vCPU state ("kvm-x86_64", "none", ...).</summary>
    public required string VcpuKind { get; init; }

    /// <summary>The devices whose state follows, in save order.</summary>
    public required IReadOnlyList<MigrationDevice> Devices { get; init; }

    /// <summary>The RAMBlocks a stream carries: migratable, with host memory, in RAMList order.</summary>
    /// <param name="machine">The machine.</param>
    public static IReadOnlyList<RamBlock> MigratableBlocks(Machine machine)
        => machine.System.RamList.Blocks.Where(b => b.Migratable && b.Memory is not null && !b.IsFreed).ToList();

    /// <summary>Describes <paramref name="machine"/> with <paramref name="vcpus"/>.</summary>
    /// <param name="machine">The machine.</param>
    /// <param name="vcpus">Its vCPUs.</param>
    public static MigrationHeader Describe(Machine machine, IVcpuTransfer vcpus)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(vcpus);
        MachineOptions o = machine.Options;
        return new MigrationHeader
        {
            Machine = machine.Name,
            Options = $"smm={OnOff(o.Smm)} platform-devices={OnOff(o.PlatformDevices)} kernel-irqchip={OnOff(o.KernelIrqchip)} serial={OnOff(o.Serial)} demo-device={OnOff(o.DemoDevice)} debugcon={OnOff(o.DebugConsole)}",
            RamSize = o.RamSize,
            PageSize = machine.System.RamList.Dirty.TargetPageSize,
            Blocks = MigratableBlocks(machine).Select(b => new MigrationBlock(b.IdStr, b.UsedLength)).ToList(),
            VcpuCount = vcpus.Count,
            VcpuKind = vcpus.Kind,
            Devices = machine.StateDevices.Select(d => new MigrationDevice(d.StateName, d.StateVersion)).ToList(),
        };
    }

    private static string OnOff(bool b) => b ? "on" : "off";

    /// <summary>Refuses to move a machine whose devices cannot all be saved.</summary>
    /// <param name="machine">The machine.</param>
    /// <exception cref="MigrationException">It has stateless devices; the message names them.</exception>
    public static void CheckSaveable(Machine machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        if (machine.StatelessDevices.Count > 0)
        {
            throw new MigrationException($"{machine.Name} cannot be saved or migrated: these devices have no saved state: {string.Join(", ", machine.StatelessDevices)}");
        }
    }

    /// <summary>Throws naming every difference between this (the stream's) header and <paramref name="local"/> (the destination's machine).</summary>
    /// <param name="local">The destination's description of itself.</param>
    /// <exception cref="MigrationException">They differ.</exception>
    public void CheckMatches(MigrationHeader local)
    {
        ArgumentNullException.ThrowIfNull(local);
        var diffs = new List<string>();
        if (Machine != local.Machine)
        {
            diffs.Add($"machine type: stream '{Machine}', destination '{local.Machine}'");
        }
        if (Options != local.Options)
        {
            diffs.Add($"machine options: stream '{Options}', destination '{local.Options}'");
        }
        if (RamSize != local.RamSize)
        {
            diffs.Add($"RAM size: stream {RamSizeText(RamSize)}, destination {RamSizeText(local.RamSize)}");
        }
        if (PageSize != local.PageSize)
        {
            diffs.Add($"page size: stream {PageSize}, destination {local.PageSize}");
        }
        if (!Blocks.SequenceEqual(local.Blocks))
        {
            // A hostile stream may list a block twice: name it rather than fail building the lookups.
            var parts = new List<string>();
            parts.AddRange(Blocks.GroupBy(b => b.IdStr).Where(g => g.Count() > 1).Select(g => $"'{g.Key}' listed {g.Count()} times in the stream"));
            var mine = Blocks.DistinctBy(b => b.IdStr).ToDictionary(b => b.IdStr, b => b.UsedLength);
            var theirs = local.Blocks.DistinctBy(b => b.IdStr).ToDictionary(b => b.IdStr, b => b.UsedLength);
            parts.AddRange(mine.Keys.Except(theirs.Keys).Select(k => $"'{k}' only in the stream"));
            parts.AddRange(theirs.Keys.Except(mine.Keys).Select(k => $"'{k}' only on the destination"));
            parts.AddRange(mine.Where(kv => theirs.TryGetValue(kv.Key, out ulong l) && l != kv.Value)
                .Select(kv => $"'{kv.Key}' is 0x{kv.Value:x} bytes in the stream, 0x{theirs[kv.Key]:x} on the destination"));
            if (parts.Count == 0)
            {
                parts.Add("same blocks in another order");
            }
            diffs.Add("RAM blocks: " + string.Join("; ", parts));
        }
        if (VcpuCount != local.VcpuCount)
        {
            diffs.Add($"vCPU count: stream {VcpuCount}, destination {local.VcpuCount}");
        }
        if (VcpuCount > 0 && local.VcpuCount > 0 && VcpuKind != local.VcpuKind)
        {
            diffs.Add($"vCPU kind: stream '{VcpuKind}', destination '{local.VcpuKind}'");
        }
        if (!Devices.SequenceEqual(local.Devices))
        {
            var parts = new List<string>();
            parts.AddRange(Devices.GroupBy(d => d.Name).Where(g => g.Count() > 1).Select(g => $"'{g.Key}' listed {g.Count()} times in the stream"));
            parts.AddRange(Devices.Select(d => d.Name).Except(local.Devices.Select(d => d.Name)).Select(n => $"'{n}' only in the stream"));
            parts.AddRange(local.Devices.Select(d => d.Name).Except(Devices.Select(d => d.Name)).Select(n => $"'{n}' only on the destination"));
            parts.AddRange(Devices.Join(local.Devices, d => d.Name, d => d.Name, (a, b) => (a, b)).Where(p => p.a.Version > p.b.Version)
                .Select(p => $"'{p.a.Name}' is version {p.a.Version} in the stream, the destination reads up to {p.b.Version}"));
            if (parts.Count > 0 || Devices.Count != local.Devices.Count)
            {
                diffs.Add("devices: " + (parts.Count == 0 ? "same devices in another order" : string.Join("; ", parts)));
            }
            else if (!Devices.Select(d => d.Name).SequenceEqual(local.Devices.Select(d => d.Name)))
            {
                diffs.Add("devices: same devices in another order");
            }
        }
        if (diffs.Count > 0)
        {
            throw new MigrationException("the stream's machine differs from the destination's: " + string.Join("; ", diffs));
        }
    }

    private static string RamSizeText(ulong bytes) => $"{Machines.RamSize.Format(bytes)} ({bytes} bytes)";

    internal void WriteTo(PayloadBuilder b)
    {
        b.Str(Machine).Str(Options).U64(RamSize).U64(PageSize);
        b.U32((uint)Blocks.Count);
        foreach (MigrationBlock block in Blocks)
        {
            b.Str(block.IdStr).U64(block.UsedLength);
        }
        b.U32((uint)VcpuCount).Str(VcpuKind);
        b.U32((uint)Devices.Count);
        foreach (MigrationDevice d in Devices)
        {
            b.Str(d.Name).U32((uint)d.Version);
        }
    }

    internal static MigrationHeader ReadFrom(ReadOnlySpan<byte> payload)
    {
        var r = new PayloadReader(payload, "header record");
        string machine = r.Str("machine type");
        string options = r.Str("options");
        ulong ram = r.U64("RAM size");
        ulong page = r.U64("page size");
        if (page is 0 or > (1UL << 30) || !ulong.IsPow2(page))
        {
            throw new MigrationException($"header record: page size {page} is not a power of two up to 1 GiB");
        }
        uint count = r.U32("block count");
        if (count > 4096)
        {
            throw new MigrationException($"header record: {count} RAM blocks; at most 4096 are accepted");
        }
        var blocks = new List<MigrationBlock>();
        for (int i = 0; i < count; i++)
        {
            blocks.Add(new MigrationBlock(r.Str($"block {i} id"), r.U64($"block {i} length")));
        }
        uint vcpus = r.U32("vCPU count");
        if (vcpus > 4096)
        {
            throw new MigrationException($"header record: {vcpus} vCPUs; at most 4096 are accepted");
        }
        string kind = r.Str("vCPU kind");
        uint devices = r.U32("device count");
        if (devices > 65536)
        {
            throw new MigrationException($"header record: {devices} devices; at most 65536 are accepted");
        }
        var list = new List<MigrationDevice>();
        for (int i = 0; i < devices; i++)
        {
            string name = r.Str($"device {i} name");
            uint version = r.U32($"device {i} version");
            list.Add(new MigrationDevice(name, (int)Math.Min(version, int.MaxValue)));
        }
        r.End();
        return new MigrationHeader { Machine = machine, Options = options, RamSize = ram, PageSize = page, Blocks = blocks, VcpuCount = (int)vcpus, VcpuKind = kind, Devices = list };
    }
}
