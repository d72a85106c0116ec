// DeployMarkers: deploy markers, environment locks, verification and rollback. Public seam: DeploysOptions,
// DeploysConfig, DeploysHosting, DeployCli; everything else is internal.
namespace Observe.DeployMarkers;
