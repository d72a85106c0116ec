// Built by its own issue; the project exists now so the dependency graph is fixed from the start.
namespace Observe.DeployMarkers;
