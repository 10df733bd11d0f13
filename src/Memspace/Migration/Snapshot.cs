using System.Diagnostics;
using Memspace.Machines;
using Memspace.Ram;

namespace Memspace.Migration;

/// <summary>
/// Snapshots on disk (Firecracker's and Cloud Hypervisor's idea): a directory with one sparse file per
/// RAMBlock (zero pages are holes), a state file (a migration stream without pages: header, clock,
/// vCPUs, devices, map digest, end) and <c>manifest.json</c> with the format version, the machine and
/// checksums. <see cref="Restore"/> rebuilds the machine with the RAM backend's file mapped private and
/// copy-on-write, so the guest's pages are read from the file only when it touches them.
/// </summary>
public static class Snapshot
{
    /// <summary>The largest state file read into memory (1 GiB): far above any machine's devices and vCPUs, below what one array holds.</summary>
    private const long MaxStateFile = 1L << 30;

    /// <summary>
    /// Saves <paramref name="machine"/> into <paramref name="directory"/>; the guest is paused first and
    /// stays paused unless <paramref name="resume"/> (a snapshot taken while the guest runs on).
    /// </summary>
    /// <param name="machine">The machine.</param>
    /// <param name="vcpus">Its vCPUs.</param>
    /// <param name="directory">Where to write (created; an older snapshot there is replaced).</param>
    /// <param name="resume">Let the guest run again once the snapshot is written.</param>
    /// <exception cref="MigrationException">The machine has devices without saved state.</exception>
    /// <exception cref="IOException">A file could not be written (with <paramref name="resume"/>, the guest runs on).</exception>
    /// <exception cref="UnauthorizedAccessException">The directory may not be written (with <paramref name="resume"/>, the guest runs on).</exception>
    public static SnapshotSaveResult Save(Machine machine, IVcpuTransfer vcpus, string directory, bool resume = false)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(vcpus);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        MigrationHeader.CheckSaveable(machine);
        long start = Stopwatch.GetTimestamp();
        vcpus.Pause();
        try
        {
            return SaveCore(machine, vcpus, directory, resume, start);
        }
        catch when (resume)
        {
            // A snapshot taken while the guest runs on must not stop the guest when it fails.
            vcpus.Resume();
            throw;
        }
    }

    private static SnapshotSaveResult SaveCore(Machine machine, IVcpuTransfer vcpus, string directory, bool resume, long start)
    {
        Directory.CreateDirectory(directory);
        string manifestPath = Path.Combine(directory, SnapshotManifest.FileName);
        File.Delete(manifestPath);
        MigrationHeader header = MigrationHeader.Describe(machine, vcpus);
        IReadOnlyList<RamBlock> blocks = MigrationHeader.MigratableBlocks(machine);
        var files = new List<SnapshotBlockFile>();
        ulong ramBytes = 0, dataBytes = 0;
        for (int i = 0; i < blocks.Count; i++)
        {
            string name = $"ram-{i}.img";
            (IReadOnlyList<uint> chunks, ulong written) = WriteSparse(blocks[i], Path.Combine(directory, name), header.PageSize);
            files.Add(new SnapshotBlockFile(blocks[i].IdStr, blocks[i].UsedLength, name, SnapshotManifest.FileChecksum(chunks), chunks));
            ramBytes += blocks[i].UsedLength;
            dataBytes += written;
        }
        var state = new MemoryStream();
        var writer = new MigrationRecordWriter(state);
        writer.WriteStart();
        var b = new PayloadBuilder();
        header.WriteTo(b);
        writer.Write(MigrationRecordType.Header, b.Span);
        MachineStateWriter.Write(writer, machine, vcpus, MapDigest.Of(machine));
        byte[] stateBytes = state.ToArray();
        File.WriteAllBytes(Path.Combine(directory, SnapshotManifest.StateFileName), stateBytes);
        var manifest = new SnapshotManifest
        {
            Machine = machine.Name,
            RamSize = machine.Options.RamSize,
            Smm = machine.Options.Smm,
            PlatformDevices = machine.Options.PlatformDevices,
            KernelIrqchip = machine.Options.KernelIrqchip,
            Serial = machine.Options.Serial,
            DemoDevice = machine.Options.DemoDevice,
            DebugConsole = machine.Options.DebugConsole,
            FirmwareSize = blocks.FirstOrDefault(x => x.IdStr == "pc.bios")?.UsedLength ?? 0,
            PageSize = header.PageSize,
            Blocks = files,
            StateSize = stateBytes.Length,
            StateCrc32C = Crc32C.Compute(stateBytes),
        };
        string tmp = manifestPath + ".tmp";
        File.WriteAllBytes(tmp, manifest.ToJson());
        File.Move(tmp, manifestPath, overwrite: true);
        TimeSpan took = Stopwatch.GetElapsedTime(start);
        if (resume)
        {
            vcpus.Resume();
        }
        return new SnapshotSaveResult(directory, ramBytes, dataBytes, took);
    }

    private static (IReadOnlyList<uint> Chunks, ulong Written) WriteSparse(RamBlock block, string path, ulong pageSize)
    {
        var chunks = new List<uint>();
        var buffer = new byte[SnapshotManifest.ChunkSize];
        uint zeroChunkCrc = Crc32C.Compute(buffer);
        ulong written = 0;
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0);
        for (ulong offset = 0; offset < block.UsedLength; offset += (ulong)buffer.Length)
        {
            int n = (int)Math.Min((ulong)buffer.Length, block.UsedLength - offset);
            Span<byte> chunk = buffer.AsSpan(0, n);
            block.Read(offset, chunk);
            if (!chunk.ContainsAnyExcept((byte)0))
            {
                chunks.Add(n == buffer.Length ? zeroChunkCrc : Crc32C.Compute(chunk));
                continue;
            }
            chunks.Add(Crc32C.Compute(chunk));
            int page = (int)pageSize;
            int run = -1;
            for (int p = 0; p <= n; p += page)
            {
                bool data = p < n && chunk.Slice(p, Math.Min(page, n - p)).ContainsAnyExcept((byte)0);
                if (data && run < 0)
                {
                    run = p;
                }
                else if (!data && run >= 0)
                {
                    file.Position = (long)offset + run;
                    file.Write(chunk[run..p]);
                    written += (ulong)(p - run);
                    run = -1;
                }
            }
        }
        file.SetLength((long)block.UsedLength);
        return (chunks, written);
    }

    /// <summary>Reads and checks a snapshot's manifest and state file without building anything.</summary>
    /// <param name="directory">The snapshot directory.</param>
    /// <exception cref="MigrationException">Missing or damaged; the message names the file.</exception>
    public static (SnapshotManifest Manifest, byte[] State) Open(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string manifestPath = Path.Combine(directory, SnapshotManifest.FileName);
        if (!File.Exists(manifestPath))
        {
            throw new MigrationException($"{directory} is not a snapshot: it has no {SnapshotManifest.FileName}");
        }
        var info = new FileInfo(manifestPath);
        if (info.Length > 64 << 20)
        {
            throw new MigrationException($"{manifestPath} is {info.Length} bytes; a manifest is far smaller");
        }
        SnapshotManifest manifest = SnapshotManifest.Parse(File.ReadAllBytes(manifestPath));
        string statePath = Path.Combine(directory, SnapshotManifest.StateFileName);
        if (!File.Exists(statePath))
        {
            throw new MigrationException($"snapshot {directory}: {SnapshotManifest.StateFileName} is missing");
        }
        long stateLength = new FileInfo(statePath).Length;
        if (stateLength != manifest.StateSize)
        {
            throw new MigrationException($"snapshot {directory}: {SnapshotManifest.StateFileName} is {stateLength} bytes, the manifest says {manifest.StateSize} (truncated or replaced)");
        }
        if (stateLength > MaxStateFile)
        {
            throw new MigrationException($"snapshot {directory}: {SnapshotManifest.StateFileName} is {stateLength} bytes; a state file holds devices and vCPUs and is at most {MaxStateFile}");
        }
        byte[] state = File.ReadAllBytes(statePath);
        uint crc = Crc32C.Compute(state);
        if (crc != manifest.StateCrc32C)
        {
            throw new MigrationException($"snapshot {directory}: {SnapshotManifest.StateFileName} is corrupted: CRC-32C 0x{crc:x8}, the manifest says 0x{manifest.StateCrc32C:x8}");
        }
        foreach (SnapshotBlockFile block in manifest.Blocks)
        {
            string path = Path.Combine(directory, block.File);
            if (!File.Exists(path))
            {
                throw new MigrationException($"snapshot {directory}: {block.File} (RAMBlock '{block.IdStr}') is missing");
            }
            long length = new FileInfo(path).Length;
            if ((ulong)length != block.UsedLength)
            {
                throw new MigrationException($"snapshot {directory}: {block.File} (RAMBlock '{block.IdStr}') is {length} bytes, the manifest says {block.UsedLength}");
            }
            if (SnapshotManifest.FileChecksum(block.Chunks) != block.Crc32C)
            {
                throw new MigrationException($"snapshot {directory}: the chunk checksums of {block.File} (RAMBlock '{block.IdStr}') do not match its file checksum: the manifest is damaged");
            }
        }
        return (manifest, state);
    }

    /// <summary>Checks every chunk of every RAM file against the manifest.</summary>
    /// <param name="directory">The snapshot directory.</param>
    /// <param name="manifest">Its manifest.</param>
    /// <exception cref="MigrationException">A chunk differs; the message names the file and the chunk.</exception>
    public static void Verify(string directory, SnapshotManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var buffer = new byte[SnapshotManifest.ChunkSize];
        foreach (SnapshotBlockFile block in manifest.Blocks)
        {
            using var file = new FileStream(Path.Combine(directory, block.File), FileMode.Open, FileAccess.Read, FileShare.Read, 0);
            for (int c = 0; c < block.Chunks.Count; c++)
            {
                int n = (int)Math.Min((ulong)buffer.Length, block.UsedLength - ((ulong)c * (ulong)buffer.Length));
                file.ReadExactly(buffer, 0, n);
                uint crc = Crc32C.Compute(buffer.AsSpan(0, n));
                if (crc != block.Chunks[c])
                {
                    throw new MigrationException($"snapshot {directory}: {block.File} (RAMBlock '{block.IdStr}') chunk {c} (bytes 0x{(ulong)c * (ulong)buffer.Length:x}+0x{n:x}) is corrupted: CRC-32C 0x{crc:x8}, the manifest says 0x{block.Chunks[c]:x8}");
                }
            }
        }
    }

    /// <summary>
    /// Rebuilds the snapshot's machine, maps (or copies) its RAM, creates its vCPUs with
    /// <paramref name="createVcpus"/>, loads the state, checks that the memory map and KVM slots equal
    /// the snapshot's and lets the guest run.
    /// </summary>
    /// <param name="directory">The snapshot directory.</param>
    /// <param name="options">Lazy or copied RAM, verification, the accelerator.</param>
    /// <param name="createVcpus">Creates the machine's vCPUs (not running).</param>
    /// <exception cref="MigrationException">The snapshot is missing, damaged or does not fit the machine it describes.</exception>
    public static SnapshotRestoreResult Restore(string directory, SnapshotRestoreOptions options, Func<Machine, IVcpuTransfer> createVcpus)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(createVcpus);
        long start = Stopwatch.GetTimestamp();
        var steps = new List<(string, TimeSpan)>();
        long mark = start;
        void Step(string name)
        {
            long now = Stopwatch.GetTimestamp();
            steps.Add((name, Stopwatch.GetElapsedTime(mark, now)));
            mark = now;
        }
        (SnapshotManifest manifest, byte[] state) = Open(directory);
        var reader = new MigrationRecordReader(new MemoryStream(state), $"snapshot state file {SnapshotManifest.StateFileName}");
        reader.ReadStart();
        MigrationRecord first = reader.Read();
        if (first.Type != MigrationRecordType.Header)
        {
            throw new MigrationException($"snapshot state file: record 0 is {first.Type}; a header must come first");
        }
        MigrationHeader header = MigrationHeader.ReadFrom(first.Payload);
        if (!header.Blocks.SequenceEqual(manifest.Blocks.Select(b => new MigrationBlock(b.IdStr, b.UsedLength))) || header.Machine != manifest.Machine || header.RamSize != manifest.RamSize || header.PageSize != manifest.PageSize)
        {
            throw new MigrationException($"snapshot {directory}: the manifest and the state file describe different machines");
        }
        Step("manifest+state");
        if (options.Verify)
        {
            Verify(directory, manifest);
            Step("verify");
        }
        string ramId = manifest.Machine == "microvm" ? "microvm.ram" : "pc.ram";
        SnapshotBlockFile? lazy = options.Copy ? null : manifest.Blocks.FirstOrDefault(b => b.IdStr == ramId && b.UsedLength == manifest.RamSize);
        HostMemory? backing = lazy is null ? null : HostMemory.FileCopyOnWrite(Path.Combine(directory, lazy.File), lazy.UsedLength);
        Machine machine;
        try
        {
            MachineOptions machineOptions = manifest.MachineOptions(options.BaseOptions) with
            {
                RamBackendMemory = backing,
                Firmware = manifest.FirmwareSize > 0 ? new byte[manifest.FirmwareSize] : options.BaseOptions.Firmware,
            };
            machine = Machine.Create(manifest.Machine, machineOptions);
        }
        catch (Exception e) when (e is ArgumentException or Core.MemspaceException)
        {
            backing?.Dispose();
            throw e as Kvm.KvmUnavailableException ?? (Exception)new MigrationException($"snapshot {directory}: its {manifest.Machine} with {Machines.RamSize.Format(manifest.RamSize)} cannot be built: {e.Message}", e);
        }
        catch
        {
            backing?.Dispose();
            throw;
        }
        try
        {
            Step("build machine");
            IReadOnlyList<RamBlock> blocks = MigrationHeader.MigratableBlocks(machine);
            var buffer = new byte[SnapshotManifest.ChunkSize];
            foreach (SnapshotBlockFile file in manifest.Blocks)
            {
                if (file == lazy)
                {
                    continue;
                }
                RamBlock block = blocks.FirstOrDefault(b => b.IdStr == file.IdStr)
                    ?? throw new MigrationException($"snapshot {directory}: RAMBlock '{file.IdStr}' does not exist on the rebuilt {manifest.Machine}");
                if (block.UsedLength != file.UsedLength)
                {
                    // Checked before copying: the header check against the machine only comes once the vCPUs exist.
                    throw new MigrationException($"snapshot {directory}: RAMBlock '{file.IdStr}' is 0x{file.UsedLength:x} bytes in the snapshot, 0x{block.UsedLength:x} on the rebuilt {manifest.Machine}");
                }
                CopyInto(block, Path.Combine(directory, file.File), file.UsedLength, buffer, manifest.PageSize);
            }
            Step(lazy is null ? "copy RAM" : "map RAM + copy small blocks");
            IVcpuTransfer vcpus = createVcpus(machine);
            Step("create vCPUs");
            header.CheckMatches(MigrationHeader.Describe(machine, vcpus));
            var loader = new MachineStateLoader(machine, vcpus, header);
            while (true)
            {
                MigrationRecord record = reader.Read();
                if (record.Type == MigrationRecordType.End)
                {
                    break;
                }
                if (!loader.Accept(record))
                {
                    throw new MigrationException($"snapshot state file: record {record.Index} ({record.Type}) does not belong in a state file");
                }
            }
            loader.Apply();
            Step("load state + check map");
            vcpus.Resume();
            Step("resume");
            return new SnapshotRestoreResult(machine, vcpus, steps, Stopwatch.GetElapsedTime(start));
        }
        catch
        {
            machine.Dispose();
            throw;
        }
    }

    private static void CopyInto(RamBlock block, string path, ulong length, byte[] buffer, ulong pageSize)
    {
        // Only the file's data extents are read: its holes are zero pages, which fresh anonymous memory already is.
        List<(long Offset, long Length)> extents;
        try
        {
            extents = block.Memory is { Kind: "anonymous" } ? Interop.Libc.DataExtents(path) : [(0, (long)length)];
        }
        catch (Interop.HostCallException e)
        {
            throw new MigrationException($"cannot read {path}: {e.Message}", e);
        }
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0);
        foreach ((long start, long extentLength) in extents)
        {
            ulong end = Math.Min(length, (ulong)(start + extentLength));
            for (ulong offset = (ulong)start & ~(pageSize - 1); offset < end; offset += (ulong)buffer.Length)
            {
                int n = (int)Math.Min((ulong)buffer.Length, end - offset);
                n = (int)Math.Min((ulong)n + pageSize - 1 & ~(pageSize - 1), length - offset);
                int got = RandomAccess.Read(file.SafeFileHandle, buffer.AsSpan(0, n), (long)offset);
                if (got != n)
                {
                    throw new MigrationException($"{path} ended at 0x{offset + (ulong)got:x} while reading 0x{n:x} bytes at 0x{offset:x}");
                }
                for (int p = 0; p < n; p += (int)pageSize)
                {
                    ReadOnlySpan<byte> page = buffer.AsSpan(p, Math.Min((int)pageSize, n - p));
                    if (page.ContainsAnyExcept((byte)0) || block.Memory is not { Kind: "anonymous" })
                    {
                        block.Write(offset + (ulong)p, page);
                    }
                }
            }
        }
    }
}
