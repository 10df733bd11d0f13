using Memspace.Core;
using Memspace.Machines;
using Memspace.Machines.State;

namespace Memspace.Migration;

/// <summary>
/// Collects the state records of a stream (clock, vCPUs, devices, map digest) and applies them to the
/// destination machine once the end record arrives: devices inside one memory transaction, then the
/// vCPUs and the clock, then the map check.
/// </summary>
internal sealed class MachineStateLoader
{
    private readonly Machine _machine;
    private readonly IVcpuTransfer _vcpus;
    private readonly MigrationHeader _header;
    private readonly byte[]?[] _vcpuStates;
    private readonly Dictionary<string, (int Version, byte[] Fields)> _devices = new(StringComparer.Ordinal);
    private byte[]? _clock;
    private MapDigest? _digest;

    public MachineStateLoader(Machine machine, IVcpuTransfer vcpus, MigrationHeader header)
    {
        _machine = machine;
        _vcpus = vcpus;
        _header = header;
        _vcpuStates = new byte[]?[header.VcpuCount];
    }

    /// <summary>Takes a state record; false if it is not one.</summary>
    public bool Accept(in MigrationRecord record)
    {
        string what = $"record {record.Index} ({record.Type})";
        switch (record.Type)
        {
            case MigrationRecordType.Clock:
            {
                var r = new PayloadReader(record.Payload, what);
                byte[] clock = r.Blob("clock").ToArray();
                r.End();
                if (_clock is not null)
                {
                    throw new MigrationException($"{what}: a second guest clock");
                }
                _clock = clock;
                return true;
            }
            case MigrationRecordType.Vcpu:
            {
                var r = new PayloadReader(record.Payload, what);
                uint index = r.U32("vCPU index");
                byte[] state = r.Blob("vCPU state").ToArray();
                r.End();
                if (index >= (uint)_vcpuStates.Length)
                {
                    throw new MigrationException($"{what}: vCPU {index}, but the header lists {_vcpuStates.Length} vCPUs");
                }
                if (_vcpuStates[index] is not null)
                {
                    throw new MigrationException($"{what}: vCPU {index} appears twice");
                }
                _vcpuStates[index] = state;
                return true;
            }
            case MigrationRecordType.Device:
            {
                var r = new PayloadReader(record.Payload, what);
                string name = r.Str("device name");
                uint version = r.U32("device version");
                byte[] fields = r.Blob("device fields").ToArray();
                r.End();
                if (!_header.Devices.Any(d => d.Name == name))
                {
                    throw new MigrationException($"{what}: device '{name}' is not in the header's device list");
                }
                if (!_devices.TryAdd(name, ((int)Math.Min(version, int.MaxValue), fields)))
                {
                    throw new MigrationException($"{what}: device '{name}' appears twice");
                }
                return true;
            }
            case MigrationRecordType.MapDigest:
                if (_digest is not null)
                {
                    throw new MigrationException($"{what}: a second map digest");
                }
                _digest = MapDigest.ReadFrom(record.Payload);
                return true;
            default:
                return false;
        }
    }

    /// <summary>How long each step of <see cref="Apply"/> took.</summary>
    public List<(string Step, TimeSpan Time)> Steps { get; } = [];

    /// <summary>Checks that every piece arrived, then loads it; the guest is paused.</summary>
    public void Apply()
    {
        long mark = System.Diagnostics.Stopwatch.GetTimestamp();
        void Step(string name)
        {
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            Steps.Add((name, System.Diagnostics.Stopwatch.GetElapsedTime(mark, now)));
            mark = now;
        }
        for (int i = 0; i < _vcpuStates.Length; i++)
        {
            if (_vcpuStates[i] is null)
            {
                throw new MigrationException($"the stream ended without the state of vCPU {i}");
            }
        }
        foreach (MigrationDevice d in _header.Devices)
        {
            if (!_devices.ContainsKey(d.Name))
            {
                throw new MigrationException($"the stream ended without the state of device '{d.Name}'");
            }
        }
        if (_digest is null)
        {
            throw new MigrationException("the stream ended without the source's map digest");
        }
        try
        {
            using (_machine.System.Transaction())
            {
                foreach (IDeviceState device in _machine.StateDevices)
                {
                    (int version, byte[] fields) = _devices[device.StateName];
                    var reader = new DeviceStateReader(device.StateName, version, fields);
                    device.LoadState(reader);
                    if (!reader.AtEnd)
                    {
                        throw new MigrationException($"device '{device.StateName}': fields left over after loading its state (version {version})");
                    }
                }
            }
            Step("devices");
            for (int i = 0; i < _vcpuStates.Length; i++)
            {
                _vcpus.Load(i, _vcpuStates[i]!);
            }
            Step("vCPUs");
            if (_clock is not null)
            {
                _vcpus.LoadClock(_clock);
            }
            Step("clock");
        }
        catch (Exception e) when (e is (MemspaceException and not MigrationException) or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            throw new MigrationException($"loading the state failed: {e.Message}", e);
        }
        _digest.CheckMatches(MapDigest.Of(_machine));
        Step("map check");
    }
}
