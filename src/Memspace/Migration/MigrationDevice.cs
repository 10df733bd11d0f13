namespace Memspace.Migration;

/// <summary>A device as a stream or snapshot lists it: its state name and layout version.</summary>
/// <param name="Name">The device's <c>StateName</c>.</param>
/// <param name="Version">The layout version its state is saved with.</param>
public readonly record struct MigrationDevice(string Name, int Version);
