namespace Memspace.Tracing;

/// <summary>One line of a folded timeline: one event, or several folded into one description.</summary>
/// <param name="First">The first event folded into the line (its sequence, time, structure and source are printed).</param>
/// <param name="Events">How many events the line stands for.</param>
/// <param name="Text">The line's description.</param>
public sealed record FoldedEvent(ChainEvent First, int Events, string Text)
{
    /// <inheritdoc/>
    public override string ToString() => First.Format(Text);
}
