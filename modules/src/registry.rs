//! Every module the engine can call, by name (short and `ansible.builtin.` / FQCN forms).
//! Modules the engine runs itself (`debug`, `set_fact`, ...) are not here: their argument specs
//! are in the engine (they need variables or the controller).

use crate::apt::AptModule;
use crate::apt_key::AptKeyModule;
use crate::apt_repository::AptRepositoryModule;
use crate::assemble::AssembleModule;
use crate::blockinfile::BlockinfileModule;
use crate::command::{CommandModule, RawModule, ShellModule};
use crate::contract::Module;
use crate::copy::CopyModule;
use crate::docker::container::DockerContainerModule;
use crate::docker::image::DockerImageModule;
use crate::docker::login::DockerLoginModule;
use crate::docker::network::{DockerNetworkModule, DockerVolumeModule};
use crate::docker::services::DockerServicesModule;
use crate::docker_engine::DockerEngineModule;
use crate::file::FileModule;
use crate::filesystem::FilesystemModule;
use crate::get_url::GetUrlModule;
use crate::group::GroupModule;
use crate::lineinfile::LineinfileModule;
use crate::modprobe::ModprobeModule;
use crate::mount::MountModule;
use crate::package::PackageModule;
use crate::pause::PauseModule;
use crate::replace::ReplaceModule;
use crate::script::ScriptModule;
use crate::service::ServiceModule;
use crate::slurp::SlurpModule;
use crate::stat::StatModule;
use crate::sysctl::SysctlModule;
use crate::template::TemplateModule;
use crate::unarchive::UnarchiveModule;
use crate::user::UserModule;
use crate::wait_for::WaitForModule;

static COMMAND: CommandModule = CommandModule;
static SHELL: ShellModule = ShellModule;
static RAW: RawModule = RawModule;
static FILE: FileModule = FileModule;
static COPY: CopyModule = CopyModule;
static TEMPLATE: TemplateModule = TemplateModule;
static LINEINFILE: LineinfileModule = LineinfileModule;
static BLOCKINFILE: BlockinfileModule = BlockinfileModule;
static REPLACE: ReplaceModule = ReplaceModule;
static SCRIPT: ScriptModule = ScriptModule;
static ASSEMBLE: AssembleModule = AssembleModule;
static STAT: StatModule = StatModule;
static SLURP: SlurpModule = SlurpModule;
static WAIT_FOR: WaitForModule = WaitForModule;
static PAUSE: PauseModule = PauseModule;
static FILESYSTEM: FilesystemModule = FilesystemModule;
static MOUNT: MountModule = MountModule;
static DOCKER_ENGINE: DockerEngineModule = DockerEngineModule;
static DOCKER_CONTAINER: DockerContainerModule = DockerContainerModule;
static DOCKER_IMAGE: DockerImageModule = DockerImageModule;
static DOCKER_LOGIN: DockerLoginModule = DockerLoginModule;
static DOCKER_NETWORK: DockerNetworkModule = DockerNetworkModule;
static DOCKER_VOLUME: DockerVolumeModule = DockerVolumeModule;
static DOCKER_SERVICES: DockerServicesModule = DockerServicesModule {
    module_name: "docker_services",
};
static DOCKER_SERVICE: DockerServicesModule = DockerServicesModule {
    module_name: "docker_service",
};
static APT: AptModule = AptModule;
static PACKAGE: PackageModule = PackageModule;
static APT_REPOSITORY: AptRepositoryModule = AptRepositoryModule;
static APT_KEY: AptKeyModule = AptKeyModule;
static SERVICE: ServiceModule = ServiceModule {
    module_name: "service",
    systemd: false,
};
static SYSTEMD: ServiceModule = ServiceModule {
    module_name: "systemd",
    systemd: true,
};
static SYSTEMD_SERVICE: ServiceModule = ServiceModule {
    module_name: "systemd_service",
    systemd: true,
};
static USER: UserModule = UserModule;
static GROUP: GroupModule = GroupModule;
static SYSCTL: SysctlModule = SysctlModule;
static MODPROBE: ModprobeModule = ModprobeModule;
static GET_URL: GetUrlModule = GetUrlModule;
static UNARCHIVE: UnarchiveModule = UnarchiveModule;

/// All modules of this crate.
pub fn all() -> Vec<&'static dyn Module> {
    vec![
        &COMMAND,
        &SHELL,
        &RAW,
        &FILE,
        &COPY,
        &TEMPLATE,
        &LINEINFILE,
        &BLOCKINFILE,
        &REPLACE,
        &SCRIPT,
        &ASSEMBLE,
        &STAT,
        &SLURP,
        &WAIT_FOR,
        &PAUSE,
        &FILESYSTEM,
        &MOUNT,
        &DOCKER_ENGINE,
        &DOCKER_CONTAINER,
        &DOCKER_IMAGE,
        &DOCKER_LOGIN,
        &DOCKER_NETWORK,
        &DOCKER_VOLUME,
        &DOCKER_SERVICES,
        &DOCKER_SERVICE,
        &APT,
        &PACKAGE,
        &APT_REPOSITORY,
        &APT_KEY,
        &SERVICE,
        &SYSTEMD,
        &SYSTEMD_SERVICE,
        &USER,
        &GROUP,
        &SYSCTL,
        &MODPROBE,
        &GET_URL,
        &UNARCHIVE,
    ]
}

/// Find a module by the name a playbook uses. Accepts `copy`, `ansible.builtin.copy`,
/// `ansible.legacy.copy` and `community.docker.docker_container` style names.
pub fn find(name: &str) -> Option<&'static dyn Module> {
    let short = name.rsplit('.').next().unwrap_or(name);
    all().into_iter().find(|m| m.name() == short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_by_any_name() {
        for n in ["copy", "ansible.builtin.copy", "ansible.legacy.copy"] {
            assert_eq!(find(n).map(|m| m.name()), Some("copy"));
        }
        assert!(find("nope").is_none());
        assert_eq!(
            find("ansible.builtin.wait_for").map(|m| m.name()),
            Some("wait_for")
        );
    }

    #[test]
    fn specs_are_consistent() {
        for m in all() {
            let spec = m.spec();
            let mut names: Vec<&str> = spec
                .iter()
                .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
                .collect();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(n, names.len(), "duplicate argument names in {}", m.name());
            if let Some(f) = m.free_form() {
                assert!(
                    spec.iter().any(|s| s.name == f),
                    "{}: free form {f} not in spec",
                    m.name()
                );
            }
        }
    }
}
