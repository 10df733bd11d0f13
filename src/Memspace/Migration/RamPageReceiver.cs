using Memspace.Ram;

namespace Memspace.Migration;

/// <summary>Writes <see cref="MigrationRecordType.Pages"/> and <see cref="MigrationRecordType.ZeroPages"/> records into the destination's RAMBlocks, checking every index and range.</summary>
internal sealed class RamPageReceiver
{
    private readonly IReadOnlyList<RamBlock> _blocks;
    private readonly ulong _pageSize;
    private readonly byte[] _page;

    public RamPageReceiver(IReadOnlyList<RamBlock> blocks, ulong pageSize)
    {
        _blocks = blocks;
        _pageSize = pageSize;
        _page = new byte[pageSize];
    }

    public void Apply(in MigrationRecord record)
    {
        string what = $"migration stream: record {record.Index} ({record.Type})";
        var r = new PayloadReader(record.Payload, what);
        uint index = r.U32("block index");
        ulong first = r.U64("first page");
        ulong count = record.Type == MigrationRecordType.Pages ? r.U32("page count") : r.U64("page count");
        if (index >= (uint)_blocks.Count)
        {
            throw new MigrationException($"{what}: block index {index}, but the header lists {_blocks.Count} blocks");
        }
        RamBlock block = _blocks[(int)index];
        ulong pages = block.UsedLength / _pageSize;
        if (count == 0 || first > pages || count > pages - first)
        {
            throw new MigrationException($"{what}: pages [{first}, +{count}) lie outside RAMBlock '{block.IdStr}' ({pages} pages)");
        }
        if (record.Type == MigrationRecordType.Pages)
        {
            if (count > MigrationStream.MaxPagesPerRecord || (ulong)r.Remaining != count * _pageSize)
            {
                throw new MigrationException($"{what}: {count} pages need {count * _pageSize} bytes of contents, the record has {r.Remaining}");
            }
            block.Write(first * _pageSize, r.Rest());
            return;
        }
        r.End();
        if (block.PageSize == _pageSize && block.Memory is { Shared: false } && block.Memory.Kind == "anonymous")
        {
            // Private anonymous memory: dropping the pages makes them read as zeros, without touching them.
            block.Discard(first * _pageSize, count * _pageSize);
            return;
        }
        for (ulong p = first; p < first + count; p++)
        {
            block.Read(p * _pageSize, _page);
            if (_page.AsSpan().ContainsAnyExcept((byte)0))
            {
                Array.Clear(_page);
                block.Write(p * _pageSize, _page);
            }
        }
    }
}
