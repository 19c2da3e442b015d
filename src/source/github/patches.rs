//! The patches a release publishes beside its image (`ota manifest gen
//! --delta-from`): each one its manifest lists is downloaded and checked
//! against the size and SHA-256 listed for it, so that a board running one
//! of those images is sent the patch even when this host never held that image.

use super::{Github, Resolved};
use crate::bundle::ReleasePatch;
use crate::exit::{fail, Kind};
use crate::manifest::{DeltaAsset, Manifest};

impl Github {
    /// The patches `m` lists for its image, in its order.
    pub(super) async fn release_patches(
        &self,
        r: &Resolved,
        m: &Manifest,
    ) -> anyhow::Result<Vec<ReleasePatch>> {
        let Some(img) = m.image_entry() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(img.deltas.len());
        for d in &img.deltas {
            out.push(self.release_patch(r, d).await?);
        }
        Ok(out)
    }

    async fn release_patch(&self, r: &Resolved, d: &DeltaAsset) -> anyhow::Result<ReleasePatch> {
        let release = format!(
            "{} release {}",
            self.api.repo_name(),
            crate::terminal::escape(&r.git_ref)
        );
        let asset = crate::terminal::escape(&d.asset);
        let Some((_, id)) = r.assets.iter().find(|(n, _)| *n == d.asset) else {
            return Err(fail(
                Kind::Source,
                format!(
                    "{release}: manifest.json lists the delta asset `{asset}`, and the release has no asset of that name; \
                     upload the patch `ota manifest gen --delta-from` wrote beside the manifest; nothing was sent"
                ),
            ));
        };
        let bytes = self
            .asset_bytes(*id, &format!("delta asset {asset}"))
            .await?;
        let size = bytes.len();
        d.take(bytes).ok_or_else(|| {
            fail(
                Kind::Verify,
                format!(
                    "{release}: the delta asset `{asset}` ({size} bytes) does not match the size ({}) and SHA-256 \
                     manifest.json lists for it; nothing was sent",
                    d.size
                ),
            )
        })
    }
}
