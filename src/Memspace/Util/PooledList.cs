using System.Buffers;
using System.Runtime.CompilerServices;

namespace Memspace.Util;

/// <summary>
/// A growable list over arrays rented from <see cref="ArrayPool{T}.Shared"/>, for scratch data of
/// hot paths that would otherwise allocate large arrays on every call. Dispose returns the array.
/// </summary>
internal struct PooledList<T> : IDisposable
{
    private T[] _items;
    private int _count;

    public PooledList(int capacity) => _items = ArrayPool<T>.Shared.Rent(Math.Max(capacity, 16));

    public readonly int Count => _count;

    public readonly ref T this[int index] => ref _items[index];

    public readonly Span<T> AsSpan() => _items.AsSpan(0, _count);

    public void Add(in T item)
    {
        if (_count == _items.Length)
        {
            T[] bigger = ArrayPool<T>.Shared.Rent(_items.Length * 2);
            Array.Copy(_items, bigger, _count);
            Return();
            _items = bigger;
        }
        _items[_count++] = item;
    }

    public T Pop() => _items[--_count];

    /// <summary>Empties the list, keeping its array.</summary>
    public void Clear()
    {
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            Array.Clear(_items, 0, _count);
        }
        _count = 0;
    }

    public void Dispose()
    {
        Return();
        _items = [];
        _count = 0;
    }

    private readonly void Return()
    {
        if (_items.Length > 0)
        {
            ArrayPool<T>.Shared.Return(_items, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        }
    }
}
