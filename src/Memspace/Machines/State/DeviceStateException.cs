using Memspace.Core;

namespace Memspace.Machines.State;

/// <summary>Saved device state that cannot be loaded: a missing, extra or mistyped field, a value out of range, or an unknown device or version.</summary>
public sealed class DeviceStateException : MemspaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the device and the field.</param>
    public DeviceStateException(string message) : base(message)
    {
    }
}
