using Memspace.Ram;

namespace Memspace.Migration;

/// <summary>
/// Sends pages of the migratable RAMBlocks as <see cref="MigrationRecordType.Pages"/> records, runs of
/// all-zero pages as <see cref="MigrationRecordType.ZeroPages"/> markers.
/// </summary>
internal sealed class RamPageSender
{
    private readonly MigrationRecordWriter _writer;
    private readonly ulong _pageSize;
    private readonly PayloadBuilder _payload = new(16 + (MigrationStream.MaxPagesPerRecord * 4096));
    private readonly byte[] _scratch;
    private uint _zeroBlock;
    private ulong _zeroFirst;
    private ulong _zeroCount;

    public RamPageSender(MigrationRecordWriter writer, ulong pageSize)
    {
        _writer = writer;
        _pageSize = pageSize;
        _scratch = new byte[MigrationStream.MaxPagesPerRecord * (int)pageSize];
    }

    public long Pages { get; private set; }

    public long ZeroPages { get; private set; }

    /// <summary>Sends pages [<paramref name="first"/>, + <paramref name="count"/>) of <paramref name="block"/>.</summary>
    public void Send(uint blockIndex, RamBlock block, ulong first, ulong count)
    {
        while (count > 0)
        {
            int n = (int)Math.Min(count, (ulong)MigrationStream.MaxPagesPerRecord);
            Span<byte> data = _scratch.AsSpan(0, n * (int)_pageSize);
            block.Read(first * _pageSize, data);
            int runStart = 0;
            for (int i = 0; i <= n; i++)
            {
                bool zero = i < n && !data.Slice(i * (int)_pageSize, (int)_pageSize).ContainsAnyExcept((byte)0);
                if (i == n || zero)
                {
                    if (i > runStart)
                    {
                        FlushZeros();
                        _payload.Reset();
                        _payload.U32(blockIndex).U64(first + (ulong)runStart).U32((uint)(i - runStart));
                        data[(runStart * (int)_pageSize)..(i * (int)_pageSize)].CopyTo(_payload.Reserve((i - runStart) * (int)_pageSize));
                        _writer.Write(MigrationRecordType.Pages, _payload.Span);
                        Pages += i - runStart;
                    }
                    runStart = i + 1;
                    if (zero)
                    {
                        AddZero(blockIndex, first + (ulong)i);
                    }
                }
            }
            first += (ulong)n;
            count -= (ulong)n;
        }
    }

    /// <summary>Sends the pages of <paramref name="block"/> that <paramref name="dirty"/> marks.</summary>
    public void SendDirty(uint blockIndex, RamBlock block, DirtyBitmapSnapshot dirty)
    {
        ulong end = block.Offset + block.UsedLength;
        ulong at = block.Offset;
        while (dirty.NextDirty(at, end) is { } first)
        {
            ulong runEnd = first + _pageSize;
            while (runEnd < end && dirty.GetDirty(runEnd, _pageSize))
            {
                runEnd += _pageSize;
            }
            Send(blockIndex, block, (first - block.Offset) / _pageSize, (runEnd - first) / _pageSize);
            at = runEnd;
        }
    }

    private void AddZero(uint block, ulong page)
    {
        if (_zeroCount > 0 && _zeroBlock == block && _zeroFirst + _zeroCount == page)
        {
            _zeroCount++;
            return;
        }
        FlushZeros();
        _zeroBlock = block;
        _zeroFirst = page;
        _zeroCount = 1;
    }

    /// <summary>Writes the pending zero run, if any (call before any other record).</summary>
    public void FlushZeros()
    {
        if (_zeroCount == 0)
        {
            return;
        }
        var b = new PayloadBuilder(24);
        b.U32(_zeroBlock).U64(_zeroFirst).U64(_zeroCount);
        _writer.Write(MigrationRecordType.ZeroPages, b.Span);
        ZeroPages += (long)_zeroCount;
        _zeroCount = 0;
    }
}
